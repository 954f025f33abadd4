"""The on-disk model cache: layout, atomic writes, the completion manifest, verification.

Layout under `Settings().models_dir`:

    <name>/...                         the model's files
    <name>/.heartline-manifest.json    written last; a model without it is incomplete
    .downloads/<package file>          verified package files while a fetch runs
    .locks/<name>.lock                 held while a process fetches <name>
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Literal

from pydantic import BaseModel

from heartline.models.catalogue import ModelSpec

MANIFEST = ".heartline-manifest.json"
CHUNK = 1 << 20
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def model_dir(models_dir: Path, name: str) -> Path:
    return models_dir / name


def downloads_dir(models_dir: Path) -> Path:
    return models_dir / ".downloads"


def lock_path(models_dir: Path, name: str) -> Path:
    return models_dir / ".locks" / f"{name}.lock"


def sha256_file(path: Path, on_bytes: Callable[[int], None] | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
            if on_bytes:
                on_bytes(len(block))
    return digest.hexdigest()


@contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """Write `path` through a temporary file in the same directory, fsync'd then renamed.

    The target appears only complete; on an exception the temporary file is removed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):  # mkstemp creates 0600; models are shared read-only files
            os.fchmod(fd, 0o644 & ~_UMASK)
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    if os.name == "posix":
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class FileRecord(BaseModel):
    """A file as it was when its hash was last checked. While size, mtime, inode and ctime all
    match, the file is the one that was hashed: any write, truncation, replacement or
    restored mtime changes its ctime (which cannot be set back)."""

    sha256: str
    size: int
    mtime_ns: int
    ino: int | None = None
    ctime_ns: int | None = None

    @classmethod
    def of(cls, sha256: str, st: os.stat_result) -> FileRecord:
        return cls(sha256=sha256, size=st.st_size, mtime_ns=st.st_mtime_ns, ino=st.st_ino, ctime_ns=st.st_ctime_ns)

    def unchanged(self, st: os.stat_result) -> bool:
        return (self.ino is not None and self.ctime_ns is not None
                and (self.size, self.mtime_ns, self.ino, self.ctime_ns)
                == (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns))


class Manifest(BaseModel):
    """What a completed fetch wrote, with hashes; its presence marks the model complete."""

    name: str
    packages: list[str]
    files: dict[str, FileRecord]


def write_manifest(directory: Path, spec: ModelSpec) -> None:
    files = {f.path: FileRecord.of(f.sha256, (directory / f.path).stat()) for f in spec.files}
    _write(directory, Manifest(name=spec.name, packages=[p.filename for p in spec.packages], files=files))


def _write(directory: Path, manifest: Manifest) -> None:
    with atomic_file(directory / MANIFEST) as fh:
        fh.write(manifest.model_dump_json(indent=1).encode())


def read_manifest(directory: Path) -> Manifest | None:
    try:
        return Manifest.model_validate(json.loads((directory / MANIFEST).read_text("utf-8")))
    except (OSError, ValueError):
        return None


CacheState = Literal["missing", "complete", "damaged"]


def cache_state(directory: Path, spec: ModelSpec) -> tuple[CacheState, list[str]]:
    """Whether the model in `directory` is complete and intact, with the damaged files' paths.

    'missing': never (completely) fetched, or fetched for another catalogue entry; 'damaged':
    fetched, but a file is gone or no longer has its catalogue hash; 'complete': every file
    verified. Cheap: a file is re-hashed only when its size, mtime, inode or ctime differ from
    the manifest's record of its last check (the record is then brought up to date).
    """
    manifest = read_manifest(directory)
    if manifest is None or manifest.packages != [p.filename for p in spec.packages]:
        return "missing", []
    damaged: list[str] = []
    checked: dict[str, FileRecord] = {}
    for f in spec.files:
        record = manifest.files.get(f.path)
        if record is None or record.sha256 != f.sha256:
            return "missing", []
        try:
            st = (directory / f.path).stat()
        except OSError:
            damaged.append(f.path)
            continue
        if st.st_size != f.size:
            damaged.append(f.path)
        elif not record.unchanged(st):
            if sha256_file(directory / f.path) == f.sha256:
                checked[f.path] = FileRecord.of(f.sha256, st)
            else:
                damaged.append(f.path)
    if damaged:
        return "damaged", damaged
    if checked:
        try:
            _write(directory, manifest.model_copy(update={"files": {**manifest.files, **checked}}))
        except OSError:  # a read-only cache: the files are fine, they are just hashed next time too
            pass
    return "complete", []


def is_complete(directory: Path, spec: ModelSpec) -> bool:
    """True when the manifest matches the catalogue and every file is intact (see `cache_state`)."""
    return cache_state(directory, spec)[0] == "complete"


FileStatus = Literal["ok", "missing", "mismatch"]


class FileCheck(BaseModel):
    path: str
    status: FileStatus
    expected: str
    actual: str | None = None


class VerifyResult(BaseModel):
    """The outcome of re-hashing one cached model."""

    name: str
    fetched: bool
    """False when the model was never (completely) fetched: nothing to verify."""
    files: list[FileCheck] = []

    @property
    def ok(self) -> bool:
        return self.fetched and all(f.status == "ok" for f in self.files)


def verify_dir(
    directory: Path, spec: ModelSpec, on_bytes: Callable[[int], None] | None = None
) -> VerifyResult:
    """Re-hash every file of `spec` in `directory` against the catalogue (progress to `on_bytes`)."""
    if read_manifest(directory) is None:
        return VerifyResult(name=spec.name, fetched=False)
    checks = []
    for f in spec.files:
        path = directory / f.path
        if not path.is_file():
            checks.append(FileCheck(path=f.path, status="missing", expected=f.sha256))
            continue
        actual = sha256_file(path, on_bytes)
        status: FileStatus = "ok" if actual == f.sha256 else "mismatch"
        checks.append(FileCheck(path=f.path, status=status, expected=f.sha256, actual=actual))
    return VerifyResult(name=spec.name, fetched=True, files=checks)
