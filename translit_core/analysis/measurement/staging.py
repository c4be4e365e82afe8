"""Where a recording's h and c are written while the network runs: a staging directory in the
cache (memory-mapped .npy files that `save_to_cache` then renames), or memory.

A memory-mapped file on a full disk does not fail on writing: the page fault kills the process
(SIGBUS, "Bus error", no message). So every file is given its full size on disk
(`os.posix_fallocate`) before anything is written into its mapping, and a disk without the room
fails there, as an OSError, and the recording is made in memory instead.
"""
from __future__ import annotations

import errno
import mmap
import os
import secrets
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ... import settings

# posix_fallocate's "this file system cannot reserve space": then the mapping is used as it is
NOT_SUPPORTED = {errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL, errno.ENOSYS}


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def _array(shape: tuple[int, int], into: str | Path | None, name: str) -> np.ndarray:
    if into is None or not shape[0]:
        return np.empty(shape, dtype=np.float32)
    path = Path(into) / name
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)
    try:
        fd = os.open(path, os.O_RDWR)
        try:
            os.posix_fallocate(fd, 0, os.fstat(fd).st_size)     # the room on disk, before any write
        finally:
            os.close(fd)
    except OSError as e:
        if e.errno not in NOT_SUPPORTED:
            del array
            raise
    return array


def state_arrays(shape: tuple[int, int], into: str | Path | None,
                 log: Callable[[str], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(h, c), each of `shape` float32: memory-mapped files in the staging directory `into`, or in
    memory when `into` is None or its disk has no room for them (then `into` is removed and
    `log`, default stderr, says so in one line)."""
    try:
        h = _array(shape, into, "h.npy")
        return h, _array(shape, into, "c.npy")
    except OSError as e:
        if into is None:
            raise
        shutil.rmtree(into, ignore_errors=True)
        size = 2 * shape[0] * shape[1] * 4
        (log or _stderr)(f"warning: no room for the recording ({size / 1e9:.2f} GB) in the cache under {into} "
                         f"({e.strerror or e}); recording in memory (free space or set TRANSLIT_CACHE)")
        return _array(shape, None, "h.npy"), _array(shape, None, "c.npy")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:          # someone else's process: alive
        return True
    return True


def staging_dir() -> Path:
    """A new directory under the cache root to record h and c into as they are computed (2 GB for
    the default sample): `save_to_cache` then renames it, and no copy is written. The staging
    directories of processes that are gone (killed mid-recording) are removed first."""
    root = settings.cache_root() / "recordings"
    root.mkdir(parents=True, exist_ok=True)
    for old in root.glob("recording-*.tmp"):
        pid = old.name.split("-")[1]
        if not pid.isdigit() or not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    where = root / f"recording-{os.getpid()}-{secrets.token_hex(4)}.tmp"
    where.mkdir()
    return where


def staging_or_memory(use_cache: bool, log=print) -> Path | None:
    """Where to record h and c: a `staging_dir()` in the cache, or None (memory) without the
    cache or when the cache cannot be written (said through `log`)."""
    if not use_cache:
        return None
    try:
        return staging_dir()
    except OSError as e:
        log(f"warning: cannot write to the recording cache ({e}); recording in memory")
        return None


RELEASE_BYTES = 256 << 20       # a staging file lets go of its written pages after about this much is written


def release_written(array: np.ndarray) -> None:
    """Let go of a staging file's pages in this process (`madvise(MADV_DONTNEED)` on its mapping):
    what was written stays in the file (a shared mapping's dirty pages go to the page cache, which
    writes them out), and the process's resident memory stops growing with the recording (2 GB
    for the default sample, otherwise resident until the recording is done). An array in memory
    is left as it is."""
    mapping = getattr(array, "_mmap", None)
    if isinstance(mapping, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        mapping.madvise(mmap.MADV_DONTNEED)
