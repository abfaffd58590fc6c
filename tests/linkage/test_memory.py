"""Importing linkage tunes the allocators (linkage.memory): Arrow's pool becomes jemalloc unless the user chose."""

from __future__ import annotations

import os
import subprocess
import sys

import pyarrow as pa
import pytest

from linkage import memory

pytestmark = pytest.mark.skipif(memory._LIBC is None, reason="allocator tuning applies to glibc only")


def _backend(code: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"} | env
    done = subprocess.run([sys.executable, "-c", code + "\nprint(pa.default_memory_pool().backend_name)"],
                          env=environment, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _jemalloc_built() -> bool:
    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        return False
    return True


@pytest.mark.skipif(not _jemalloc_built(), reason="this pyarrow is built without jemalloc")
def test_arrow_allocates_through_jemalloc_after_importing_linkage() -> None:
    assert _backend("import linkage, pyarrow as pa") == "jemalloc"


@pytest.mark.skipif(not _jemalloc_built(), reason="this pyarrow is built without jemalloc")
def test_a_pool_arrow_made_before_linkage_is_replaced() -> None:
    assert _backend("import pyarrow as pa\npa.array([1, 2])\nimport linkage") == "jemalloc"


def test_the_users_choice_of_arrow_pool_is_kept() -> None:
    assert _backend("import linkage, pyarrow as pa", ARROW_DEFAULT_MEMORY_POOL="system") == "system"
