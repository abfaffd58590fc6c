"""One writer per output: an exclusive lock beside the target, so two runs never write the same extract at once.

The lock is `flock(2)` on `<parent>/.<name>.lock`: the kernel drops it when the holder exits, however it exits
(SIGKILL included), so a crash never leaves a stale lock. flock is advisory and is only reliable on local file
systems; on NFS it may not exclude a writer on another machine.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from linkage.errors import OutputError


def lock_path(target: Path | str) -> Path:
    """The lock file guarding `target`: `.<name>.lock` in the same folder."""
    target = Path(target)
    return target.parent / f".{target.name}.lock"


@contextlib.contextmanager
def target_lock(target: Path | str) -> Iterator[Path]:
    """Hold the exclusive lock on `target` for the block; OutputError at once if another process holds it.

    Non-blocking: a second run fails with one line rather than waiting. The lock file is removed on release.
    """
    target = Path(target)
    path = lock_path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{target}: its folder cannot be created ({exc.strerror})") from None
    fd = _acquire(path, target)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)  # while still holding the lock: a waiting opener re-checks the inode
        os.close(fd)


def _acquire(path: Path, target: Path) -> int:
    """Open and flock the lock file; retry when the file was unlinked by its last holder in between."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise OutputError(f"{target}: cannot create its lock file {path.name} ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputError(f"another reglink run is writing {target}") from None
        except OSError as exc:
            os.close(fd)
            raise OutputError(f"{target}: cannot lock {path.name} ({exc.strerror})") from None
        if _same_file(fd, path):
            return fd
        os.close(fd)  # the previous holder removed the file after we opened it: lock the new one


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)
