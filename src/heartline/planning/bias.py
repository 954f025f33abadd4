"""Preference-bias control: keep the strategy predictor from favouring a few strategies.

Every method adds per-strategy offsets to the log-probabilities and renormalises:

- `prior`: offsets = -alpha * log(training prior). alpha = 0 leaves the model as trained;
  alpha = 1 turns p(strategy | context) into a likelihood ratio that no longer rewards
  frequent strategies.
- `match`: offsets fitted so that, over the training contexts, the head chooses each strategy
  as often as the training labels use it (prior matching). A biased predictor over-chooses a
  few strategies; matching the label marginal removes exactly that preference.
- `f1`: offsets fitted, starting from prior matching, to maximise the mean of weighted-F1 and
  macro-F1 (Q) of the head's out-of-fold choices on the training dialogues: the decision rule
  tuned to the metrics rather than to the label marginal.

`training.strategy` fits them all, records the Q / W-F1 / B trade-off on the validation split
and keeps the method with the best Q among those whose B stays under `training.strategy.B_MAX`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Method = Literal["none", "prior", "match", "f1"]
METHODS: tuple[str, ...] = ("none", "prior", "match", "f1")


@dataclass(frozen=True)
class BiasControl:
    """p'(s) ∝ p(s) · exp(offsets[s]) for the selected method."""

    prior: np.ndarray
    method: Method = "none"
    alpha: float = 0.0
    match_offsets: np.ndarray = field(default_factory=lambda: np.zeros(0))
    f1_offsets: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        if (self.prior <= 0).any():
            raise ValueError("prior probabilities must be positive")
        if self.method not in METHODS:
            raise ValueError(f"unknown bias control {self.method!r}; choose one of {METHODS}")
        if self.method in ("match", "f1") and self.offsets.shape != self.prior.shape:
            raise ValueError(f"method {self.method!r} needs fitted offsets, one per strategy")

    @property
    def offsets(self) -> np.ndarray:
        if self.method == "prior":
            return -self.alpha * np.log(self.prior)
        if self.method == "match":
            return self.match_offsets
        if self.method == "f1":
            return self.f1_offsets
        return np.zeros_like(self.prior)

    def apply(self, probs: np.ndarray) -> np.ndarray:
        """Corrected distribution(s); works on one vector or a batch of rows."""
        if self.method == "none" or (self.method == "prior" and self.alpha == 0.0):
            return probs
        corrected = probs * np.exp(self.offsets)
        return corrected / corrected.sum(axis=-1, keepdims=True)

    def with_method(self, method: Method, alpha: float | None = None) -> BiasControl:
        """The same fitted control with another method (and optionally another alpha)."""
        return BiasControl(self.prior, method, self.alpha if alpha is None else alpha, self.match_offsets,
                           self.f1_offsets)

    def to_json(self) -> dict[str, object]:
        return {"method": self.method, "alpha": self.alpha, "prior": [float(p) for p in self.prior],
                "match_offsets": [float(o) for o in self.match_offsets],
                "f1_offsets": [float(o) for o in self.f1_offsets]}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> BiasControl:
        return cls(
            prior=np.asarray(data["prior"], dtype=np.float64),
            method=str(data.get("method", "prior")),  # type: ignore[arg-type]
            alpha=float(data.get("alpha", 0.0)),  # type: ignore[arg-type]
            match_offsets=np.asarray(data.get("match_offsets", []), dtype=np.float64),
            f1_offsets=np.asarray(data.get("f1_offsets", []), dtype=np.float64),
        )


def training_prior(counts: np.ndarray, smoothing: float = 1.0) -> np.ndarray:
    """Label frequencies with add-`smoothing`, so that unseen labels keep a positive prior."""
    counts = np.asarray(counts, dtype=np.float64) + smoothing
    return counts / counts.sum()


def fit_match_offsets(probs: np.ndarray, prior: np.ndarray, steps: int = 300, rate: float = 0.3) -> np.ndarray:
    """Offsets that make the argmax frequencies of `probs · exp(offsets)` follow `prior`.

    Steps of `rate` times the log-ratio of target to actual frequency, scaled by the spread
    of the log-probabilities and decaying (a fixed step oscillates when the distributions are
    flat, e.g. a strongly regularised head); returns the offsets whose frequencies came
    closest to `prior` (L1) over all steps.
    """
    log_probs = np.log(np.maximum(probs, 1e-30))
    spread = float(np.std(log_probs - log_probs.mean(axis=1, keepdims=True))) or 1.0
    offsets = np.zeros(len(prior))
    best, best_gap = offsets, np.inf
    for step in range(steps):
        chosen = (log_probs + offsets).argmax(axis=1)
        frequency = np.bincount(chosen, minlength=len(prior)) / len(probs)
        gap = float(np.abs(frequency - prior).sum())
        if gap < best_gap:
            best, best_gap = offsets, gap
        offsets = offsets + rate * spread / (1 + step / 30) * (np.log(prior) - np.log(frequency + 1e-4))
    return best - best.mean()


def f1_scores(gold: np.ndarray, pred: np.ndarray, n_classes: int) -> tuple[float, float]:
    """(weighted-F1, macro-F1) of label indices; a class never predicted nor gold scores 0."""
    confusion = np.bincount(gold * n_classes + pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    hits = np.diag(confusion).astype(float)
    support, predicted = confusion.sum(axis=1), confusion.sum(axis=0)
    f1 = np.divide(2 * hits, support + predicted, out=np.zeros(n_classes), where=support + predicted > 0)
    return float(f1 @ support / max(support.sum(), 1)), float(f1.mean())


def fit_f1_offsets(probs: np.ndarray, gold: np.ndarray, start: np.ndarray, rounds: int = 4,
                   span: float = 1.5, steps: int = 31) -> np.ndarray:
    """Offsets that maximise (weighted-F1 + macro-F1) / 2 of `argmax(log probs + offsets)` on `gold`.

    Coordinate ascent from `start` (e.g. the prior-matching offsets): each round tries `steps`
    values within ±`span` around every strategy's offset and keeps the best, then halves the
    span. Fit it on out-of-fold probabilities, so the head's in-sample confidence does not
    shape the rule.
    """
    log_probs = np.log(np.maximum(probs, 1e-30))
    k = log_probs.shape[1]

    def objective(offsets: np.ndarray) -> float:
        return sum(f1_scores(gold, (log_probs + offsets).argmax(axis=1), k)) / 2

    offsets = np.array(start, dtype=np.float64)
    best = objective(offsets)
    for round_ in range(rounds):
        for c in range(k):
            centre = keep = offsets[c]
            for delta in np.linspace(-span, span, steps) / 2**round_:
                offsets[c] = centre + delta
                value = objective(offsets)
                if value > best + 1e-12:
                    best, keep = value, offsets[c]
            offsets[c] = keep
    return offsets - offsets.mean()
