"""Classification metrics for emotion and strategy prediction, incl. Kang et al.'s preference bias.

All functions take parallel lists of gold and predicted labels plus the label list (its order
fixes the rows/columns of the confusion matrix and of the preferences). F1 averages follow
scikit-learn: per-class F1 is 0 when undefined, macro-F1 averages over the labels that occur
in gold or predictions, weighted-F1 weights by gold support.

The preference bias B follows Kang et al. (ACL 2024, "Can Large Language Models be Good
Emotional Supporter?", the authors' `metrics.py`): a prediction of strategy i on an example
whose gold strategy is j (i != j) counts as "i wins over j"; Bradley-Terry preferences are
estimated with 20 sweeps of the minorisation-maximisation update (Hunter, 2004), updated in
place strategy by strategy and renormalised by their geometric mean after each sweep, then
scaled to sum to the number of strategies. B is their (population) standard deviation.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

log = logging.getLogger(__name__)

BT_ITERATIONS = 20


def _check(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")
    unknown = (set(gold) | set(pred)) - set(labels)
    if unknown:
        raise ValueError(f"labels {sorted(unknown)} are not in the label list {list(labels)}")


def confusion_matrix(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """Counts `C[g, p]`: gold label index g predicted as p."""
    _check(gold, pred, labels)
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for g, p in zip(gold, pred):
        matrix[index[g], index[p]] += 1
    return matrix


def accuracy(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    """Share of exact matches (0.0 for no examples)."""
    _check(gold, pred, labels)
    return sum(g == p for g, p in zip(gold, pred)) / len(gold) if gold else 0.0


def per_class_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """F1 of each label, in label order; 0 where precision + recall is 0."""
    matrix = confusion_matrix(gold, pred, labels)
    tp = np.diag(matrix).astype(float)
    denom = matrix.sum(axis=0) + matrix.sum(axis=1)  # predicted + gold counts
    return np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)


def macro_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    """Unweighted mean F1 over the labels present in gold or predictions (Kang et al.'s Q)."""
    matrix = confusion_matrix(gold, pred, labels)
    present = (matrix.sum(axis=0) + matrix.sum(axis=1)) > 0
    if not present.any():
        return 0.0
    return float(per_class_f1(gold, pred, labels)[present].mean())


def weighted_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    """Mean F1 weighted by each label's gold support."""
    support = confusion_matrix(gold, pred, labels).sum(axis=1)
    if support.sum() == 0:
        return 0.0
    return float((per_class_f1(gold, pred, labels) * support).sum() / support.sum())


def strategy_preferences(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str],
                         iterations: int = BT_ITERATIONS) -> np.ndarray:
    """Bradley-Terry preference of each label from the confusion counts.

    The preferences of the labels that occur in `gold` sum to their number. A label absent
    from gold can never "lose", so its preference is undefined: it gets NaN, and it and its
    predictions are left out of the estimate (the reference assumes every strategy occurs; with
    all labels present this is exactly the reference). A label that is never predicted gets
    preference 0 (the reference crashes there with 0/0; it agrees wherever it runs). NaN
    everywhere means undefined: a present label that never loses (e.g. a perfect predictor) has
    an infinite maximum-likelihood preference, as in the reference.
    """
    confusion = confusion_matrix(gold, pred, labels)
    present = np.flatnonzero(confusion.sum(axis=1) > 0)
    wins = confusion[np.ix_(present, present)].T  # wins[i, j]: predicted i when gold was j
    n = len(present)
    p = [1.0] * n
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(iterations):
            for i in range(n):
                numerator = denominator = np.float64(0.0)
                for j in range(n):
                    if j == i:
                        continue
                    # Pairs never compared contribute nothing; skipping them (rather than
                    # computing 0 * 0/0) keeps labels that are never predicted at 0.
                    # NumPy scalars, so that 0/0 (both preferences 0) gives NaN under errstate
                    # instead of raising ZeroDivisionError.
                    if wins[i, j]:
                        numerator += wins[i, j] * (np.float64(p[j]) / (np.float64(p[i]) + p[j]))
                    if wins[j, i]:
                        denominator += wins[j, i] * (1 / (np.float64(p[i]) + p[j]))
                p[i] = float(np.float64(numerator) / denominator)
            positive = [v for v in p if v > 0]
            geo_mean = math.prod(positive) ** (1 / len(positive)) if positive else float("nan")
            p = [v / geo_mean for v in p]
    estimated = np.array(p, dtype=float)
    if not np.isfinite(estimated).all():
        log.warning("Bradley-Terry preferences undefined for some labels (zero confusion counts)")
    prefs = np.full(len(labels), np.nan)
    prefs[present] = estimated * n / estimated.sum()
    return prefs


def preference_bias(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    """Kang et al.'s B: standard deviation of the Bradley-Terry strategy preferences (over the
    labels that occur in gold)."""
    return _bias(strategy_preferences(gold, pred, labels))


def _bias(prefs: np.ndarray) -> float:
    defined = prefs[~np.isnan(prefs)] if not np.isnan(prefs).all() else prefs
    return float(np.std(defined))


def classification_report(gold: Sequence[str], pred: Sequence[str],
                          labels: Sequence[str]) -> dict[str, object]:
    """All of the above as a JSON-ready dict (F1s as fractions, not percentages)."""
    prefs = strategy_preferences(gold, pred, labels)
    f1s = per_class_f1(gold, pred, labels)
    return {
        "n": len(gold),
        "accuracy": accuracy(gold, pred, labels),
        "weighted_f1": weighted_f1(gold, pred, labels),
        "macro_f1": macro_f1(gold, pred, labels),
        "preference_bias": _bias(prefs),
        "labels": list(labels),
        "per_class_f1": {label: float(v) for label, v in zip(labels, f1s)},
        "preferences": {label: (None if np.isnan(v) else float(v)) for label, v in zip(labels, prefs)},
        "confusion": confusion_matrix(gold, pred, labels).tolist(),
    }
