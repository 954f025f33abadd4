"""The NumPy MiniLM embedder matches sentence-transformers, and its cache returns what it stored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from heartline.embeddings import CachedEmbedder, MiniLMEmbedder, text_key
from heartline.errors import ModelError

TEXTS = ["I feel so alone since my dog died.", "Hello there",
         "My boss yelled at me today and I am furious about it, I cannot sleep."]
# First three dimensions from sentence-transformers 5 + torch 2.13 (all-MiniLM-L6-v2, normalised).
REFERENCE = [[-0.00338, -0.08315, 0.07425], [-0.09444, 0.07322, 0.04227], [0.06196, 0.08197, -0.01253]]


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    from heartline.models import ensure

    return MiniLMEmbedder(ensure("all-minilm-l6-v2"))


@pytest.mark.slow
def test_matches_sentence_transformers(minilm: MiniLMEmbedder) -> None:
    vectors = minilm.encode(TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)
    np.testing.assert_allclose(vectors[:, :3], REFERENCE, atol=2e-5)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_padding_does_not_change_embeddings(minilm: MiniLMEmbedder) -> None:
    alone = minilm.encode([TEXTS[1]])
    batched = minilm.encode(TEXTS, batch_size=3)
    np.testing.assert_allclose(alone[0], batched[1], atol=1e-5)


@pytest.mark.slow
def test_long_texts_are_truncated(minilm: MiniLMEmbedder) -> None:
    ids = minilm.tokenize(["word " * 1000])[0]
    assert len(ids) == minilm.max_tokens
    assert minilm.encode(["word " * 1000]).shape == (1, 384)


@pytest.mark.slow
def test_related_texts_are_closer(minilm: MiniLMEmbedder) -> None:
    a, b, c = minilm.encode(["I am so sad today", "I feel really down and unhappy", "The train leaves at nine"])
    assert a @ b > a @ c + 0.2


@pytest.mark.slow
def test_disk_cache_round_trip(minilm: MiniLMEmbedder, tmp_path: Path) -> None:
    cache = CachedEmbedder(minilm, tmp_path, flush_every=2)
    first = cache.encode(TEXTS)
    assert len(list(tmp_path.glob("shard-*.npz"))) == 1  # 2 of 3 texts, flushed every 2
    cache.flush()
    assert len(list(tmp_path.glob("shard-*.npz"))) == 2
    reopened = CachedEmbedder(minilm, tmp_path)
    assert len(reopened) == 3
    np.testing.assert_array_equal(reopened.encode(TEXTS[::-1]), first[::-1])


@pytest.mark.slow
def test_memory_memo_is_bounded(minilm: MiniLMEmbedder) -> None:
    memo = CachedEmbedder(minilm, max_entries=2)
    memo.encode(TEXTS)
    assert len(memo) == 2
    assert memo.encode([]).shape == (0, 384)


def test_missing_model_files_raise_with_hint(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model.safetensors"):
        MiniLMEmbedder(tmp_path)


def test_text_key_distinguishes_texts() -> None:
    assert text_key("a") != text_key("a ") and len(text_key("a")) == 16
