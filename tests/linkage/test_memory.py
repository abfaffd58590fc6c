"""Importing linkage tunes the allocators (linkage.memory): Arrow allocates from glibc's heap (its "system" pool) and
numpy gives no huge-page advice, unless the user chose otherwise; `zeroed` maps memory with its pages faulted in at
once."""

from __future__ import annotations

import ctypes
import mmap
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from linkage import memory

pytestmark = pytest.mark.skipif(memory._LIBC is None, reason="allocator tuning applies to glibc only")


def _printed(code: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("ARROW_DEFAULT_MEMORY_POOL", "NUMPY_MADVISE_HUGEPAGE", "MALLOC_ARENA_MAX")} | env
    done = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _backend(code: str, **env: str) -> str:
    return _printed(code + "\nprint(pa.default_memory_pool().backend_name)", **env)


def _huge_page_advice(code: str, **env: str) -> str:
    """Whether numpy advises huge pages for large arrays (its setter returns the setting it replaces)."""
    return _printed(code + "\nimport numpy as np\nprint(np._core.multiarray._set_madvise_hugepage(True))", **env)


def test_arrow_allocates_from_glibcs_heap_after_importing_linkage() -> None:
    assert _backend("import linkage, pyarrow as pa") == "system"
    assert _backend("import pyarrow as pa") != "system"  # Arrow's own default here: the test can fail


def test_a_pool_arrow_made_before_linkage_is_replaced() -> None:
    assert _backend("import pyarrow as pa\npa.array([1, 2])\nimport linkage") == "system"


def test_the_users_choice_of_arrow_pool_is_kept() -> None:
    assert _backend("import linkage, pyarrow as pa", ARROW_DEFAULT_MEMORY_POOL="mimalloc") == "mimalloc"


def test_numpy_gives_no_huge_page_advice_after_importing_linkage() -> None:
    assert _huge_page_advice("import linkage") == "False"
    assert _huge_page_advice("import numpy as np") == "True"  # numpy's own default here: the test can fail


def test_numpy_imported_before_linkage_stops_its_huge_page_advice() -> None:
    assert _huge_page_advice("import numpy as np\nnp.zeros(1 << 23)\nimport linkage") == "False"


def test_the_users_choice_of_huge_page_advice_is_kept() -> None:
    assert _huge_page_advice("import linkage", NUMPY_MADVISE_HUGEPAGE="1") == "True"


#: A 200 MB array made and freed five times in a worker thread: the page faults of the last four.
_THREAD_FAULTS = """
import resource, threading
import numpy as np
{before}
def work():
    np.ones(25_000_000)
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(4):
        np.ones(25_000_000)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start)
thread = threading.Thread(target=work)
thread.start()
thread.join()
"""


def test_a_large_array_made_in_a_thread_reuses_freed_memory_after_importing_linkage() -> None:
    assert int(_printed(_THREAD_FAULTS.format(before="import linkage"))) < 1_000


def test_the_users_choice_of_arena_count_is_kept() -> None:
    """With arenas of their own, threads map each large array afresh (48,829 pages of 4 KiB for each)."""
    assert int(_printed(_THREAD_FAULTS.format(before="import linkage"), MALLOC_ARENA_MAX="8")) > 4 * 40_000


@pytest.mark.parametrize("kernel", ["populates on advice", "refuses the advice (before Linux 5.14)"])
def test_zeroed_memory_is_writable_zeros_resident_from_the_start(kernel: str, monkeypatch) -> None:
    """`zeroed` gives zeros to write to; on Linux every page is resident (faulted in) before the first write, by
    MADV_POPULATE_WRITE or, where the kernel does not know it, by MAP_POPULATE."""
    if kernel.startswith("refuses"):
        monkeypatch.setattr(memory, "_MADV_POPULATE_WRITE", 1 << 20)  # no such advice: madvise fails, EINVAL
    size = 64 << 20
    table = memory.zeroed(size)
    assert table.dtype == np.uint8 and len(table) == size and not table.any()
    table[::4096] = 7
    assert int(table.sum()) == 7 * (size // 4096)
    assert len(memory.zeroed(0)) == 0
    if not hasattr(mmap, "MAP_POPULATE"):
        return
    fresh, resident = memory.zeroed(size), np.zeros(size // mmap.PAGESIZE, dtype=np.uint8)
    mincore = memory._LIBC.mincore
    mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    assert mincore(fresh.ctypes.data, size, resident.ctypes.data) == 0
    assert resident.all()
