"""Semantic similarity between responses and references with any sentence embedder."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from heartline.errors import HeartlineError


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into one embedding row each (L2-normalised rows)."""

    def encode(self, texts: list[str]) -> np.ndarray: ...


def pairwise_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of row i of ``a`` with row i of ``b``.

    Rows are re-normalised, so an embedder that forgets to normalise still gives cosines;
    an all-zero row has similarity 0.
    """
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"need two matrices of one shape, got {a.shape} and {b.shape}")
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    dots = np.einsum("ij,ij->i", a, b)
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


def semantic_similarity(hypotheses: Sequence[str], references: Sequence[str],
                        embedder: Embedder) -> float:
    """Mean cosine similarity of each response's embedding with its reference's, in [-1, 1]."""
    if len(hypotheses) != len(references):
        raise HeartlineError(f"{len(hypotheses)} hypotheses but {len(references)} references",
                             hint="pass one reference per hypothesis, in the same order")
    if not hypotheses:
        raise HeartlineError("no hypotheses to score", hint="pass at least one response")
    embedded = np.asarray(embedder.encode(list(hypotheses) + list(references)))
    n = len(hypotheses)
    return float(pairwise_cosine(embedded[:n], embedded[n:]).mean())
