"""Session fixtures for the linkage-stage tests: one small synthetic world, a generated key, the linked world."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from linkage.linking import LinkedWorld, link_world
from linkage.synth import generate_world

CHILDREN = 2500
PROJECT = "test-linkage"


@pytest.fixture(scope="session")
def small_world(tmp_path_factory) -> Path:
    """A synthetic world of 2,500 children with its truth/ folder (generated once per test session)."""
    folder = tmp_path_factory.mktemp("linkage") / "world"
    generate_world(folder, children=CHILDREN, seed=11)
    return folder


@pytest.fixture(scope="session")
def project() -> str:
    return PROJECT


@pytest.fixture(scope="session")
def master_key() -> bytes:
    """A master key made for this session, never stored."""
    return os.urandom(32)


@pytest.fixture(scope="session")
def secure_dir(tmp_path_factory) -> Path:
    """The secure working folder for rejects (kept apart from any output)."""
    return tmp_path_factory.mktemp("secure")


@pytest.fixture(scope="session")
def linked_world(small_world, master_key, secure_dir) -> LinkedWorld:
    return link_world(small_world, key=master_key, project=PROJECT, secure_dir=secure_dir)


@pytest.fixture(scope="session")
def truth(small_world) -> dict[str, pd.DataFrame]:
    frames = {name: pd.read_parquet(small_world / "truth" / f"{name}.parquet")
              for name in ("records", "errors", "identifiers", "persons")}
    frames["records"]["dataset"] = frames["records"]["dataset"].astype(str)
    return frames
