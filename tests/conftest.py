"""Shared fixtures: the reference data in ../shared (tests that need it skip where it is absent)."""

from __future__ import annotations

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
