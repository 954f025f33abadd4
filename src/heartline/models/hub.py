"""Models from the Hugging Face hub, used only when asked for with `hf:ORG/REPO[@REVISION][:FILE]`.

Needs the optional extra `hub` (huggingface_hub), imported only here and only on use. The hub's
own cache (HF_HOME / HF_HUB_CACHE) and offline switch (HF_HUB_OFFLINE=1) apply.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import NamedTuple

from heartline.errors import ModelError

log = logging.getLogger(__name__)

PREFIX = "hf:"


class HubSpec(NamedTuple):
    repo_id: str
    filename: str | None
    revision: str | None


def parse(spec: str) -> HubSpec:
    """Split `hf:ORG/REPO[@REVISION][:FILE]`."""
    body = spec.removeprefix(PREFIX)
    repo, _, filename = body.partition(":")
    repo, _, revision = repo.partition("@")
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise ModelError(
            f"bad hub model spec {spec!r}",
            hint="write hf:ORG/REPO, hf:ORG/REPO:FILE or hf:ORG/REPO@REVISION:FILE",
        )
    return HubSpec(repo, filename or None, revision or None)


def hub_path(spec: str, cache_dir: Path | None = None) -> Path:
    """Local path of a hub file (or a repo snapshot directory), downloading it if the hub is reachable."""
    repo_id, filename, revision = parse(spec)
    try:
        import huggingface_hub
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError as exc:
        raise ModelError(
            f"loading {spec} needs the Hugging Face hub client",
            hint="install the extra: pip install 'heartline[hub]' (or use a catalogue name or local path)",
        ) from exc
    log.info("loading %s from the Hugging Face hub", spec)
    try:
        if filename:
            local = huggingface_hub.hf_hub_download(
                repo_id, filename, revision=revision, cache_dir=cache_dir
            )
        else:
            local = huggingface_hub.snapshot_download(
                repo_id, revision=revision, cache_dir=cache_dir
            )
    except LocalEntryNotFoundError as exc:
        raise ModelError(
            f"{spec} is not in the local hub cache and the hub cannot be reached",
            hint="connect to the network (and unset HF_HUB_OFFLINE), or copy the files and pass their path",
        ) from exc
    except Exception as exc:  # the hub client raises many HTTP/validation error types
        raise ModelError(f"cannot load {spec} from the Hugging Face hub: {exc}") from exc
    return Path(local)
