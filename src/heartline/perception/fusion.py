"""Late fusion of per-modality emotion estimates: confidence-weighted log-linear pooling.

    log p(e) = sum_m a_m log p_m(e) + const,   a_m = w_m * c_m

`w_m` is how far a modality is trusted in general (its reliability weight), `c_m` how sure
it is this turn. With every `a_m = 1` this is the product of experts (independent modalities
that agree make the result surer); a modality with `a_m = 0` drops out, so missing or
unreadable modalities need no special case. Each modality's contribution is `a_m / sum a`.

The weights can be learned from turns labelled with the true emotion (`learn_weights`).
No corpus here has all three modalities labelled together (RAVDESS has voice only over two
fixed neutral sentences, FER2013 faces only, text corpora no media), so the shipped
weights are set by hand from each modality's held-out accuracy, not learned jointly.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from importlib import resources

import numpy as np

from heartline.labels import EMOTIONS
from heartline.schema import EmotionEstimate

log = logging.getLogger(__name__)

FLOOR = 1e-3
"""Probabilities are floored before taking logs so that no modality can veto an emotion."""


def default_weights() -> dict[str, float]:
    """The reliability weights shipped with the package (`perception/data/fusion.json`)."""
    text = resources.files("heartline.perception").joinpath("data/fusion.json").read_text()
    return {k: float(v) for k, v in json.loads(text)["weights"].items()}


def _vector(estimate: EmotionEstimate) -> np.ndarray:
    p = np.array([estimate.distribution.get(e, 0.0) for e in EMOTIONS], dtype=np.float64)
    p = np.clip(p, 0.0, None)
    total = p.sum()
    p = p / total if total > 0 else np.full(len(EMOTIONS), 1.0 / len(EMOTIONS))
    return np.maximum(p, FLOOR) / np.maximum(p, FLOOR).sum()


def pool(vectors: Sequence[np.ndarray], exponents: Sequence[float]) -> np.ndarray:
    """Log-linear pool of distributions with the given exponents (uniform when all are 0)."""
    logits = np.zeros(len(EMOTIONS))
    for p, a in zip(vectors, exponents):
        logits += a * np.log(p)
    logits -= logits.max()
    out = np.exp(logits)
    return out / out.sum()


class Fusion:
    """Fuses whatever modalities a turn has into one `EmotionEstimate` ("fused")."""

    def __init__(self, weights: Mapping[str, float] | None = None) -> None:
        self.weights = dict(default_weights() if weights is None else weights)

    def fuse(self, estimates: Mapping[str, EmotionEstimate]) -> tuple[EmotionEstimate | None, dict[str, float]]:
        """The fused estimate and each modality's share in it; (None, {}) without estimates."""
        names = [m for m in estimates if self.weights.get(m, 1.0) * estimates[m].confidence > 0]
        if not names:
            return None, {}
        exponents = [self.weights.get(m, 1.0) * estimates[m].confidence for m in names]
        fused = pool([_vector(estimates[m]) for m in names], exponents)
        total = float(sum(exponents))
        contributions = {m: a / total for m, a in zip(names, exponents)}
        confidence = float(sum(contributions[m] * estimates[m].confidence for m in names))
        arousal = _weighted([estimates[m].arousal for m in names], exponents)
        valence = _weighted([estimates[m].valence for m in names], exponents)
        estimate = EmotionEstimate(
            modality="fused",
            distribution={e: float(p) for e, p in zip(EMOTIONS, fused)},
            confidence=min(1.0, confidence),
            source="log-linear pool of " + "+".join(names),
            arousal=arousal,
            valence=valence,
        )
        return estimate, contributions


def _weighted(values: Sequence[float | None], weights: Sequence[float]) -> float | None:
    pairs = [(v, w) for v, w in zip(values, weights) if v is not None]
    if not pairs or sum(w for _, w in pairs) <= 0:
        return None
    return float(sum(v * w for v, w in pairs) / sum(w for _, w in pairs))


def learn_weights(
    turns: Sequence[Mapping[str, EmotionEstimate]], labels: Sequence[str], modalities: Sequence[str]
) -> dict[str, float]:
    """Reliability weights that maximise the likelihood of the true emotions under the pool.

    `turns` holds each labelled turn's per-modality estimates (any may be missing); `labels`
    the true canonical emotions. Weights are kept in [0, 3] and found with L-BFGS-B.
    """
    from scipy.optimize import minimize

    index = {e: i for i, e in enumerate(EMOTIONS)}
    y = np.array([index[label] for label in labels])
    # logs[m]: (n, K) log-probabilities times confidence; zero where the modality is missing.
    logs = np.zeros((len(modalities), len(turns), len(EMOTIONS)))
    for j, turn in enumerate(turns):
        for i, m in enumerate(modalities):
            if m in turn:
                logs[i, j] = turn[m].confidence * np.log(_vector(turn[m]))

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        logits = np.tensordot(w, logs, axes=1)
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        nll = -np.mean(np.log(probs[np.arange(len(y)), y] + 1e-12))
        # d nll / d w_m = mean over turns of (E_p[logs_m] - logs_m[y])
        expected = np.einsum("mnk,nk->mn", logs, probs)
        observed = logs[:, np.arange(len(y)), y]
        return float(nll), (expected - observed).mean(axis=1)

    start = np.ones(len(modalities))
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[(0.0, 3.0)] * len(modalities))
    log.info("fusion weights learned over %d turns: nll %.3f", len(turns), result.fun)
    return {m: float(w) for m, w in zip(modalities, result.x)}
