"""Figures for a trained head: confusion matrix, strategy preferences, bias-control trade-off."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _pyplot():  # imported lazily: matplotlib is in the `train` extra
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion_plot(confusion: Sequence[Sequence[int]], labels: Sequence[str], title: str, path: Path) -> None:
    """Row-normalised confusion matrix (rows: gold), with counts in the cells."""
    plt = _pyplot()
    counts = np.asarray(confusion, dtype=float)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = 1.0 + 0.7 * len(labels)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, int(counts[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if rates[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def preferences_plot(preferences: dict[str, float | None], bias: float, title: str, path: Path) -> None:
    """Bar chart of the Bradley-Terry preference of each strategy (1 = no preference); strategies
    absent from the gold labels have none and are marked."""
    plt = _pyplot()
    labels = list(preferences)
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(labels), 4))
    ax.bar(range(len(labels)), [preferences[k] or 0.0 for k in labels], color="#6a8caf")
    ax.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    names = [k if preferences[k] is not None else f"{k} (not in gold)" for k in labels]
    ax.set_xticks(range(len(labels)), names, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("preference")
    ax.set_title(f"{title} (B = {bias:.3f})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def tradeoff_plot(curve: Sequence[dict[str, Any]], title: str, path: Path) -> None:
    """Q and W-F1 (left axis, %) and B (right axis) against the prior-correction alpha; prior
    matching (dotted) and F1-tuned offsets (dashed) drawn as horizontal lines in the same colours."""
    plt = _pyplot()
    prior = sorted((p for p in curve if p["method"] in ("none", "prior")), key=lambda p: p["alpha"])
    fixed = [(p, style, name) for method, style, name in (("match", ":", "prior matching"), ("f1", "--", "F1-tuned"))
             for p in curve if p["method"] == method]
    alphas = [p["alpha"] for p in prior]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    right = ax.twinx()
    series = [(ax, "macro_f1", 100, "Q (macro-F1)", "tab:blue", "o"),
              (ax, "weighted_f1", 100, "weighted-F1", "tab:green", "s"),
              (right, "preference_bias", 1, "B", "firebrick", "^")]
    for axis, key, scale, label, colour, marker in series:
        axis.plot(alphas, [scale * p[key] for p in prior], marker=marker, color=colour, label=f"{label}, prior correction")
        for point, style, name in fixed:
            axis.axhline(scale * point[key], color=colour, linestyle=style, label=f"{label}, {name}")
    ax.set_xlabel("prior-correction alpha")
    ax.set_ylabel("%")
    right.set_ylabel("preference bias B")
    lines = ax.get_legend_handles_labels()
    extra = right.get_legend_handles_labels()
    ax.legend(lines[0] + extra[0], lines[1] + extra[1], fontsize=7, loc="best")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def threshold_plot(rows: Sequence[dict[str, Any]], chosen: float, path: Path) -> None:
    """Crisis recall and false alarms (hard negatives, elevated, ordinary) against the threshold."""
    plt = _pyplot()
    x = [r["crisis_at"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in (("crisis_recall", "crisis recall"), ("hard_negatives_at_crisis", "hard negatives at crisis"),
                       ("elevated_at_crisis", "elevated at crisis"), ("ordinary_at_crisis", "ordinary at crisis")):
        ax.plot(x, [100 * r[key] for r in rows], marker="o", label=label)
    ax.axvline(chosen, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("crisis probability threshold")
    ax.set_ylabel("% (out of fold)")
    ax.set_title("safety head: recall and false alarms", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
