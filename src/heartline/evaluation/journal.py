"""An append-only JSONL journal of finished items, keyed by (dialogue_id, turn), for resumable runs.

Each record is written as one line and flushed as soon as it is finished, so an interrupted run
loses at most the item in flight. On reopening, a torn last line (the process died mid-write)
is cut off, and the keys already present are skipped by the caller.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Self

from heartline.errors import DataFormatError

log = logging.getLogger(__name__)

Key = tuple[str, int]


def record_key(record: dict[str, Any]) -> Key:
    return str(record["dialogue_id"]), int(record["turn"])


class Journal:
    """Open with `Journal(path)`; `done` holds the keys written so far (by any earlier run)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.done: set[Key] = set()
        self._repair_and_index()
        self._file: IO[str] = self.path.open("a", encoding="utf-8")

    def _repair_and_index(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) < len(data):
            log.warning("%s: dropping a partly written last line (%d bytes) from an interrupted run",
                        self.path, len(data) - len(complete))
            with self.path.open("r+b") as fh:
                fh.truncate(len(complete))
        for number, line in enumerate(complete.decode("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                self.done.add(record_key(json.loads(line)))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise DataFormatError(self.path, f"line {number}", None,
                                      f"not a prediction record ({exc})") from exc

    def append(self, record: dict[str, Any]) -> None:
        """Write one finished record and flush it to the OS."""
        key = record_key(record)
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()
        self.done.add(key)

    def sync(self) -> None:
        """Flush to disk (fsync): call at checkpoints, e.g. after each batch."""
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self.sync()
            self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Every complete record of a journal, in file order (a torn last line is ignored)."""
    return list(_records(Path(path).read_text(encoding="utf-8").splitlines(keepends=True)))


def _records(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if line.endswith("\n") and line.strip():
            yield json.loads(line)
