"""Keep freed memory for reuse in long CPU computations (the CLI's commands).

The analysis makes the same large temporaries again and again: a (positions x 228) float32
block per random ablation draw is ~10-20 MB, a histogram gather per label shuffle as much. By
default glibc gives every block over 128 kB back to the kernel when it is freed (mmap/munmap,
and trimming the heap top), so the next one is page-faulted in afresh, zeroed page by page: on
this project's 2-core VM that made `torch.tanh` of a fresh (23012, 228) tensor 2-3x slower
than the same call into a reused buffer, and the stored ablations ~30% slower as a whole.
Raising the mmap threshold to its maximum and the trim threshold out of reach keeps such blocks
in the heap, where the next temporary of the same size reuses them.

Not for the dashboard: a long-lived server should give memory back between requests.
"""
from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3       # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD_MAX = 32 * 1024 * 1024             # glibc's ceiling on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX)
TRIM_THRESHOLD = 1 << 30                          # keep up to 1 GiB of freed heap top


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed blocks of up to 32 MB for reuse. Returns whether it
    could (False on a C library without mallopt, e.g. musl or macOS: nothing changes there)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
