"""How reglink's processes use C's heap: keep freed memory for reuse, and give it back between stages.

A national run allocates and frees arrays of hundreds of megabytes thousands of times. glibc's malloc hands
every block above its mmap threshold straight back to the system and trims the heap whenever its top is free, so
the next array of that size is fresh memory again: page faults and zeroing, which on a virtual machine can cost
more than the work itself (measured here: the eligibility outcome on 18 M grades took 1.9–10.7 s a run, 21–23 s of
system time in five runs; with freed memory kept, 1.4–2.1 s and 10–12 s). So `keep_freed_memory` (called when
`linkage` is imported) asks glibc to serve large blocks from its heap and not to trim on its own, and
`release_memory` gives what is free back at the end of each stage, so peak memory stays that of the work.
Every thread allocates from that one heap (`M_ARENA_MAX` 1): glibc gives each further thread an arena of its own,
which cannot hold a block above 64 MB, so every large array a worker thread made was mapped afresh and faulted in
page by page (measured here: a 200 MB array made ten times took 0.79 s and 488,000 page faults in a thread, 0.07 s
and none in the main thread; the national extract's derivation, whose outcome functions run in threads, 10.2 →
8.9 s, its page faults 1.31 → 0.74 million, and the run's peak 5.8 → 5.2 GB).
Arrow allocates through that same heap (its "system" pool, unless `ARROW_DEFAULT_MEMORY_POOL` says otherwise):
Arrow's default, mimalloc, maps and unmaps its large blocks afresh, and jemalloc gives its free pages back after a
second and faults them in again (measured here on a national `link_world`: 58.6 s wall and 32.7 s system time with
mimalloc, 49.3 s and 20.6 s with jemalloc; later, in seven interleaved pairs of runs, 23.6 s on average, 7.0–8.8 s
system time and 3.7 million page faults with jemalloc, 22.8 s, 4.6–6.4 s and 2.1 million with glibc's heap, which
was faster in five of the seven, at a peak 0.6 GB higher: 6.1 GB).
Elsewhere than glibc all this does nothing.
numpy is asked not to advise the kernel to back its large arrays with huge pages (`NUMPY_MADVISE_HUGEPAGE=0`, unless
the user set it): with transparent huge pages in `madvise` mode, each fresh 2 MB page is compacted for and zeroed
whole when first touched, and a national `link_world` spent most of its system time there (measured here: 58.2 s
wall, 31.2 s system time, 3,738 huge pages faulted in; with the advice off, 48.1 s and 19.5 s at the same peak).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -2, -4, -8  # mallopt parameters (malloc.h)
_NEVER = 2**31 - 1  # mallopt takes an int
_TOP_PAD = 256 << 20  # grow the heap in steps of this much (address space; touched only when used)
_ARROW_POOL = "ARROW_DEFAULT_MEMORY_POOL"  # read by Arrow when its default pool is first asked for
_NUMPY_HUGEPAGE = "NUMPY_MADVISE_HUGEPAGE"  # read by numpy when it is imported
_ARENAS = "MALLOC_ARENA_MAX"  # glibc's own setting of the same
_MADV_POPULATE_WRITE = 23  # linux/mman.h


def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


_LIBC = _glibc()


def keep_freed_memory() -> None:
    """Let glibc keep freed memory for reuse (large blocks from the heap, no automatic trimming, one heap for every
    thread), let Arrow allocate from that heap too and numpy without huge-page advice, unless the user chose
    otherwise."""
    if _LIBC is None:
        return
    _no_huge_pages_for_numpy()
    _LIBC.mallopt(_M_MMAP_MAX, 0)
    _LIBC.mallopt(_M_TRIM_THRESHOLD, _NEVER)
    _LIBC.mallopt(_M_TOP_PAD, _TOP_PAD)
    if _ARENAS not in os.environ:
        _LIBC.mallopt(_M_ARENA_MAX, 1)
    if _ARROW_POOL in os.environ:
        return
    os.environ[_ARROW_POOL] = "system"
    if "pyarrow" in sys.modules:  # imported before us: it may have made its default pool already
        pa = sys.modules["pyarrow"]
        pa.set_memory_pool(pa.system_memory_pool())


def _no_huge_pages_for_numpy() -> None:
    if _NUMPY_HUGEPAGE in os.environ:
        return
    os.environ[_NUMPY_HUGEPAGE] = "0"
    numpy = sys.modules.get("numpy")
    if numpy is not None:  # imported before us: it has read the variable already
        (getattr(numpy, "_core", None) or numpy.core).multiarray._set_madvise_hugepage(False)


def zeroed(size: int) -> np.ndarray:
    """`size` zeroed bytes (uint8), mapped afresh with every page faulted in by one call (Linux:
    `MADV_POPULATE_WRITE`, or `MAP_POPULATE` on kernels before 5.14):
    for a large table written at random places, one fault per page at its first write costs far more. Measured
    here: the row-repeat tables of a national `link_world` grow by doubling, and moving the rows into each bigger
    table took 5.2–5.7 s of CPU with the pages faulted in one by one, 0.35 s with them faulted in at once (the
    stage 37.9 → 33.4 s). Elsewhere an ordinary zeroed array."""
    import numpy as np

    if not hasattr(mmap, "MAP_POPULATE") or size == 0:
        return np.zeros(size, dtype=np.uint8)
    if _LIBC is not None and hasattr(_LIBC, "madvise"):
        # Python's mmap holds its lock while the kernel faults the pages in (0.4 s a GB here, in which no other
        # thread runs Python); a call through ctypes lets go of it. MADV_POPULATE_WRITE: Linux 5.14 and later.
        lazy = np.frombuffer(mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS), dtype=np.uint8)
        if _LIBC.madvise(ctypes.c_void_p(lazy.ctypes.data), ctypes.c_size_t(size), _MADV_POPULATE_WRITE) == 0:
            return lazy
    mapped = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE)
    return np.frombuffer(mapped, dtype=np.uint8)  # the array holds the mapping: unmapped when it is freed


def release_memory() -> None:
    """Give memory freed by a stage back to the system (Arrow's pool, and glibc's heap) so the next stage starts
    from what is really in use: freed memory kept by one allocator cannot serve the other."""
    import pyarrow as pa  # here: importing linkage (as the CLI does to start) must stay light

    pa.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


__all__ = ["keep_freed_memory", "release_memory", "zeroed"]
