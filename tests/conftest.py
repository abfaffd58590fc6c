"""Shared fixtures: the reference data in ../shared (tests that need it skip where it is absent)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared() -> Path:
    """The project's ../shared folder; tests that need it skip with the reason where it is absent."""
    if not (SHARED / "reference").is_dir():
        pytest.skip(f"../shared is not beside the checkout (looked for {SHARED}); reference data unavailable")
    return SHARED


@dataclass(frozen=True)
class DemoRun:
    """One `reglink demo` run: its folder and the finished process."""

    outdir: Path
    proc: subprocess.CompletedProcess[str]

    @property
    def extract(self) -> Path:
        return self.outdir / "extract"


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> DemoRun:
    """`reglink demo` run once per session through the real CLI (the synthetic world, the demo key, the extract)."""
    from reglink_testing import run_cli

    outdir = tmp_path_factory.mktemp("demo-session") / "demo"
    proc = run_cli("demo", outdir)
    assert proc.returncode == 0, proc.stderr
    return DemoRun(outdir, proc)
