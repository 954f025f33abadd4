"""Perplexity and semantic-similarity arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from heartline.errors import HeartlineError
from heartline.evaluation.perplexity import corpus_perplexity
from heartline.evaluation.similarity import Embedder, pairwise_cosine, semantic_similarity


def test_perplexity_weighs_every_token_equally() -> None:
    short = [math.log(0.5)]  # one token, p = 1/2
    long = [math.log(0.1)] * 3  # three tokens, p = 1/10
    expected = math.exp(-(math.log(0.5) + 3 * math.log(0.1)) / 4)
    assert corpus_perplexity([short, long]) == pytest.approx(expected)
    # The known bug, averaging per-response perplexities, gives (2 + 10) / 2 = 6 instead.
    assert corpus_perplexity([short, long]) != pytest.approx(6.0)


def test_perplexity_of_certain_tokens_is_one() -> None:
    assert corpus_perplexity([[0.0, 0.0], [0.0]]) == 1.0


@pytest.mark.parametrize("bad", [[], [[]], [[0.5]], [[float("nan")]], [[-float("inf")]]])
def test_perplexity_rejects_missing_or_invalid_logprobs(bad: list[list[float]]) -> None:
    with pytest.raises(HeartlineError):
        corpus_perplexity(bad)


def test_pairwise_cosine_renormalises_rows_and_handles_zero_rows() -> None:
    a = np.array([[3.0, 4.0], [1.0, 0.0], [0.0, 0.0]])
    b = np.array([[6.0, 8.0], [0.0, 2.0], [1.0, 1.0]])
    assert pairwise_cosine(a, b) == pytest.approx([1.0, 0.0, 0.0])
    with pytest.raises(ValueError):
        pairwise_cosine(a, b[:2])


class FakeLetterCountEmbedder:
    """Test double for the cosine arithmetic only (not a semantic model): counts a, b, c."""

    def encode(self, texts: list[str]) -> np.ndarray:
        rows = np.array([[t.count(ch) for ch in "abc"] for t in texts], dtype=float)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_semantic_similarity_is_mean_cosine_of_aligned_pairs() -> None:
    embedder = FakeLetterCountEmbedder()
    assert isinstance(embedder, Embedder)
    # pair 1: (1,0,0) vs (1,0,0) -> 1; pair 2: (0,1,0) vs (0,0,1) -> 0
    assert semantic_similarity(["a", "b"], ["aa", "c"], embedder) == pytest.approx(0.5)
    with pytest.raises(HeartlineError):
        semantic_similarity(["a"], [], embedder)
