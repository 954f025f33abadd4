"""An exclusive inter-process lock on a file (flock on POSIX, msvcrt on Windows).

Held through an open file description, so two threads of one process exclude each other too,
and the lock goes away with the process however it ends (even kill -9). The lock file is
created owner-only and is never deleted while in use; if it is deleted or replaced anyway, the
holder notices (the path no longer names the file it locked) and locks the new one.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from heartline.errors import HeartlineError

log = logging.getLogger(__name__)


class FileLock:
    """Exclusive advisory lock held on `path` (created if missing); released on process exit too.

    `waiting` is logged once when another holder makes us wait; `timeout_error()` builds the
    error raised after `timeout_s`.
    """

    def __init__(self, path: Path, timeout_s: float = 3600.0, poll_s: float = 0.2,
                 waiting: str | None = None, mode: int = 0o600) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self.waiting = waiting or f"waiting for another process holding {path}"
        self.mode = mode
        self._fd: int | None = None

    def timeout_error(self) -> Exception:
        return HeartlineError(
            f"timed out after {self.timeout_s:.0f} s waiting for the lock {self.path}",
            hint="another heartline process holds it; wait for it to finish or stop it",
        )

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.timeout_s
        announced = False
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, self.mode)
            while not _try_lock(fd):
                if not announced:
                    log.warning("%s", self.waiting)
                    announced = True
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise self.timeout_error()
                time.sleep(self.poll_s)
            if _same_file(fd, self.path):
                self._fd = fd
                return
            _unlock(fd)  # the file was replaced while we waited: lock the one the path names now
            os.close(fd)

    def release(self) -> None:
        if self._fd is not None:
            _unlock(self._fd)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


__all__ = ["FileLock"]
