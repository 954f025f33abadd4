"""An inter-process lock on a file, so two processes never fetch the same model at once."""

from __future__ import annotations

from pathlib import Path

from heartline import locking
from heartline.errors import ModelError


class FileLock(locking.FileLock):
    """Exclusive advisory lock held on `path` while a model is fetched; released on process exit too."""

    def __init__(self, path: Path, timeout_s: float = 3600.0, poll_s: float = 0.2) -> None:
        super().__init__(path, timeout_s, poll_s, waiting=f"waiting for another process holding {path}",
                         mode=0o644)

    def timeout_error(self) -> Exception:
        return ModelError(
            f"timed out after {self.timeout_s:.0f} s waiting for the lock {self.path}",
            hint="another heartline process is fetching this model; wait for it or stop it",
        )
