"""Hub loading (`hf:` specs), offline: a hub cache laid out in tmp_path, HF_HUB_OFFLINE on."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from heartline import models
from heartline.errors import ModelError
from heartline.models import hub

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture()
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Hugging Face cache holding acme/tiny (two files) at `main`; the hub itself unreachable."""
    constants = pytest.importorskip("huggingface_hub.constants")
    repo = tmp_path / "models--acme--tiny"
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    (snapshot / "model.gguf").write_bytes(b"GGUF\x03\x00\x00\x00")
    (snapshot / "config.json").write_text("{}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    return snapshot


def test_ensure_resolves_a_hub_file_and_a_snapshot(hub_cache: Path) -> None:
    assert models.ensure("hf:acme/tiny:model.gguf") == hub_cache / "model.gguf"
    assert models.ensure("hf:acme/tiny@main:config.json") == hub_cache / "config.json"
    assert models.ensure("hf:acme/tiny") == hub_cache


def test_missing_hub_file_offline_says_what_to_do(hub_cache: Path) -> None:
    with pytest.raises(ModelError) as err:
        models.ensure("hf:acme/other:model.gguf")
    assert "not in the local hub cache" in str(err.value)
    assert "HF_HUB_OFFLINE" in (err.value.hint or "")


def test_bad_spec() -> None:
    with pytest.raises(ModelError, match="bad hub model spec"):
        hub.parse("hf:just-a-name")
    assert hub.parse("hf:a/b@v1:x/y.gguf") == hub.HubSpec("a/b", "x/y.gguf", "v1")


def test_missing_extra_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(ModelError) as err:
        models.ensure("hf:acme/tiny:model.gguf")
    assert "heartline[hub]" in (err.value.hint or "")
