"""Writing the lab's files whole or not at all, and one writer per folder.

    atomic_write(path, data)      the bytes (or UTF-8 text) into a temporary file in the same
                                  folder, flushed and fsynced, then renamed over `path`: a reader
                                  sees the old file or the new one, never half of one, and a
                                  failed write (a full disk) leaves the old file as it was
    atomic_path(path)             the same for a writer that wants a file name (safetensors'
                                  save_file): a context manager that yields the temporary path
    FolderLock(folder)            an exclusive, non-blocking lock on a folder (fcntl.flock on
                                  FOLDER/.lock, removed again when released): a second writer is
                                  refused with FolderBusy

A new file gets the mode a plain `open(path, "w")` would give it (0666 minus the umask), not the
0600 of a tempfile. Nothing here imports torch.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

LOCK_FILE = ".lock"


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once: os.umask can only be read by setting it, and setting it while the dashboard's other
# threads create files would give those files the wrong mode.
UMASK = _read_umask()


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside `path` to write; on leaving the block without an error it is
    fsynced, given a normal file's mode and renamed over `path`. On any error it is removed and
    `path` is left as it was."""
    path = Path(path)
    tmp = _temp_name(path)
    try:
        yield tmp
        _fsync_file(tmp)
        os.chmod(tmp, 0o666 & ~UMASK)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write(path: str | os.PathLike, data: bytes | str, encoding: str = "utf-8") -> Path:
    """Write `data` (text is encoded with `encoding`) to `path` atomically -> the path."""
    path = Path(path)
    blob = data.encode(encoding) if isinstance(data, str) else bytes(data)
    with atomic_path(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
    return path


class FolderBusy(OSError):
    """Another process is writing the folder; the message names it and what to do."""


class FolderLock:
    """An exclusive lock on a folder for as long as it is held (`with FolderLock(d): ...`).

    Non-blocking: when another process (or another thread of this one) holds it, FolderBusy says
    which pid. The same thread may take it again inside (train's checkpoint saves, analyze's
    Analysis.save): only the outermost hold locks and unlocks. The kernel drops an flock lock
    with its file, however the holder exits, so a killed writer never leaves a stale lock; the
    holder removes FOLDER/.lock when it lets go."""

    _held: dict[tuple[str, int], int] = {}      # (folder, thread) -> nesting depth in this process

    def __init__(self, folder: str | os.PathLike, hint: str = "wait for it or choose another folder"):
        self.folder, self.hint = Path(folder), hint
        self._fd: int | None = None
        self._key: tuple[str, int] | None = None

    def acquire(self) -> "FolderLock":
        self.folder.mkdir(parents=True, exist_ok=True)
        key = (str(self.folder.resolve()), threading.get_ident())
        if key in self._held:
            self._held[key] += 1
            self._key = key
            return self
        path = self.folder / LOCK_FILE
        for _ in range(10):           # the file may be removed between our open and our lock: then again
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666 & ~UMASK)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                os.close(fd)
                if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                holder = _read_pid(path)
                who = f" (pid {holder})" if holder else ""
                raise FolderBusy(f"{self.folder} is being written by another process{who}; {self.hint}") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        else:
            raise FolderBusy(f"{self.folder}: cannot lock {path} (it keeps being replaced); {self.hint}")
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd, self._key = fd, key
        self._held[key] = 1
        return self

    def release(self) -> None:
        key, self._key = self._key, None
        if key is None:
            return
        self._held[key] -= 1
        if self._held[key]:
            return
        del self._held[key]
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.unlink(self.folder / LOCK_FILE)     # while still locked: a waiting open sees a new file
        os.close(fd)                               # closing the file drops the lock

    def __enter__(self) -> "FolderLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
