"""Preference-bias control: keep the strategy predictor from favouring a few strategies.

Prior correction divides the predicted probabilities by the training prior raised to `alpha`
and renormalises: alpha = 0 leaves the model as trained, alpha = 1 turns p(strategy | context)
into a likelihood ratio that no longer rewards frequent strategies. `alpha` is tuned on the
validation split (`training.strategy` sweeps it and records the Q / W-F1 / B trade-off).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PriorCorrection:
    """p'(s) ∝ p(s) / prior(s)^alpha."""

    prior: np.ndarray
    alpha: float = 0.0

    def __post_init__(self) -> None:
        if (self.prior <= 0).any():
            raise ValueError("prior probabilities must be positive")

    def apply(self, probs: np.ndarray) -> np.ndarray:
        """Corrected distribution(s); works on one vector or a batch of rows."""
        if self.alpha == 0.0:
            return probs
        corrected = probs / self.prior ** self.alpha
        return corrected / corrected.sum(axis=-1, keepdims=True)

    def to_json(self) -> dict[str, object]:
        return {"method": "prior", "alpha": self.alpha, "prior": [float(p) for p in self.prior]}

    @classmethod
    def from_json(cls, data: dict[str, object], alpha: float | None = None) -> PriorCorrection:
        """From a head config's `bias` entry; `alpha` overrides the tuned value."""
        prior = np.asarray(data["prior"], dtype=np.float64)
        return cls(prior=prior, alpha=float(data["alpha"]) if alpha is None else alpha)  # type: ignore[arg-type]


def training_prior(counts: np.ndarray, smoothing: float = 1.0) -> np.ndarray:
    """Label frequencies with add-`smoothing`, so that unseen labels keep a positive prior."""
    counts = np.asarray(counts, dtype=np.float64) + smoothing
    return counts / counts.sum()
