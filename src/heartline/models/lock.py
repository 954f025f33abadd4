"""An inter-process lock on a file, so two processes never fetch the same model at once."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from heartline.errors import ModelError

log = logging.getLogger(__name__)


class FileLock:
    """Exclusive advisory lock held on `path` (created if missing); released on process exit too."""

    def __init__(self, path: Path, timeout_s: float = 3600.0, poll_s: float = 0.2) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout_s
        announced = False
        while not _try_lock(fd):
            if not announced:
                log.warning("waiting for another process holding %s", self.path)
                announced = True
            if time.monotonic() > deadline:
                os.close(fd)
                raise ModelError(
                    f"timed out after {self.timeout_s:.0f} s waiting for the lock {self.path}",
                    hint="another heartline process is fetching this model; wait for it or stop it",
                )
            time.sleep(self.poll_s)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            _unlock(self._fd)
            os.close(self._fd)
            self._fd = None

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
