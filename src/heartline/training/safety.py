"""Train the safety head: none, elevated or a crisis of each category, from a sentence's embedding.

Training data: the exemplar bank with the labelled phrasings merged in (`ExemplarBank.builtin`;
crisis exemplars by category, elevated ones, hard negatives, the negatives weighted
`hard_weight` times) and ordinary sentences from a corpus (GoEmotions' Reddit comments), minus
the ones the rules flag at any level. Figures are out-of-fold over the bank (5 folds): crisis
recall, hard negatives and elevated phrasings called crisis, and ordinary sentences called crisis,
at each threshold of `safety-tradeoff.png`; the thresholds ship in the head's config.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from heartline.embeddings import DEFAULT_MODEL, CachedEmbedder, load_embedder
from heartline.safety.rules import CATEGORIES, RuleSet
from heartline.safety.semantic import HEAD_FEATURES, HEAD_LABELS, ExemplarBank, crisis_risk
from heartline.schema import RiskLevel
from heartline.training.common import (
    embed_all, licences, progress_bar, read_dialogues, seed_everything, write_json,
)
from heartline.training.fit import FitConfig, fit_head
from heartline.training.plots import threshold_plot

log = logging.getLogger(__name__)

FIT = FitConfig(hidden=0, l2=1e-3, balance=1.0, max_iter=500)
HARD_WEIGHT = 8
"""Copies of each hard negative (figures of speech among tens of thousands of plain sentences)."""
ORDINARY_LIMIT = 6000
CRISIS_AT = 0.85
"""The lowest threshold that keeps ESConv train seeker messages at crisis under 0.5% (docs/safety.md)."""
VETO_SIMILARITY = 0.8
"""Chosen on round 4 of the test phrasings with a head trained without it (docs/safety.md)."""
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)
FOLDS = 5


def ordinary_sentences(specs: Sequence[str], limit: int, seed: int) -> list[str]:
    """Up to `limit` texts of the corpora in `specs` (a seeded sample), minus those the rules flag."""
    texts = [u.text for d in read_dialogues(specs) for u in d.utterances if u.text.strip()]
    random.Random(seed).shuffle(texts)
    rules = RuleSet.builtin()
    kept = []
    for text in texts[:limit]:
        if all(f.level == RiskLevel.NONE for f in rules.detect(text)):
            kept.append(text)
    log.info("ordinary sentences: kept %d of %d (the rules flag the rest)", len(kept), min(limit, len(texts)))
    return kept


def bank_examples(bank: ExemplarBank) -> tuple[list[str], list[int]]:
    """(texts, label indices) of the bank: crisis by category, elevated, negatives as none."""
    texts = [t for t, _ in bank.crisis] + list(bank.elevated) + list(bank.negative)
    labels = ([HEAD_LABELS.index(c) for _, c in bank.crisis]
              + [HEAD_LABELS.index("elevated")] * len(bank.elevated) + [HEAD_LABELS.index("none")] * len(bank.negative))
    return texts, labels


def _fit(x_bank: np.ndarray, y_bank: np.ndarray, x_ordinary: np.ndarray, hard_weight: int, config: FitConfig):
    hard = np.flatnonzero(y_bank == HEAD_LABELS.index("none"))
    x = np.concatenate([x_bank, np.repeat(x_bank[hard], hard_weight - 1, axis=0), x_ordinary])
    y = np.concatenate([y_bank, np.zeros(len(hard) * (hard_weight - 1) + len(x_ordinary), np.int64)])
    return fit_head(x, y, HEAD_LABELS, config)


def out_of_fold_risk(x_bank: np.ndarray, y_bank: np.ndarray, x_ordinary: np.ndarray, hard_weight: int,
                     config: FitConfig, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crisis probability and likeliest crisis label (an index into HEAD_LABELS) of each bank row, and
    crisis probability of each ordinary row, from heads fitted without its fold."""
    rng = np.random.default_rng(seed)
    fold_bank = rng.permutation(len(y_bank)) % FOLDS
    fold_ordinary = rng.permutation(len(x_ordinary)) % FOLDS
    risk_bank, category, risk_ordinary = np.zeros(len(y_bank)), np.zeros(len(y_bank), np.int64), np.zeros(len(x_ordinary))
    with progress_bar("out-of-fold safety heads", FOLDS) as advance:
        for f in range(FOLDS):
            head = _fit(x_bank[fold_bank != f], y_bank[fold_bank != f], x_ordinary[fold_ordinary != f],
                        hard_weight, config)
            risk, likeliest = crisis_risk(head.proba(x_bank[fold_bank == f]))
            risk_bank[fold_bank == f] = risk
            category[fold_bank == f] = HEAD_LABELS.index(CATEGORIES[0]) + likeliest
            risk_ordinary[fold_ordinary == f] = crisis_risk(head.proba(x_ordinary[fold_ordinary == f]))[0]
            advance(1)
    return risk_bank, category, risk_ordinary


def threshold_figures(risk_bank: np.ndarray, category: np.ndarray, y_bank: np.ndarray,
                      risk_ordinary: np.ndarray) -> list[dict[str, Any]]:
    """Per threshold: crisis recall and category accuracy, and the share of hard negatives,
    elevated phrasings and ordinary sentences called crisis (head alone, out of fold)."""
    none_label, elevated_label = HEAD_LABELS.index("none"), HEAD_LABELS.index("elevated")
    crisis, elevated, hard = y_bank > elevated_label, y_bank == elevated_label, y_bank == none_label
    rows = []
    for t in THRESHOLDS:
        hit = crisis & (risk_bank >= t)
        rows.append({
            "crisis_at": t,
            "crisis_recall": float(hit.sum() / crisis.sum()),
            "category_right": float((category[hit] == y_bank[hit]).mean()) if hit.any() else 0.0,
            "hard_negatives_at_crisis": float((risk_bank[hard] >= t).mean()),
            "elevated_at_crisis": float((risk_bank[elevated] >= t).mean()),
            "ordinary_at_crisis": float((risk_ordinary >= t).mean()),
        })
    return rows


def train_safety(ordinary_specs: Sequence[str], out: Path, *, seed: int = 0, limit: int = ORDINARY_LIMIT,
                 hard_weight: int = HARD_WEIGHT, crisis_at: float = CRISIS_AT,
                 veto_similarity: float = VETO_SIMILARITY, bank: ExemplarBank | None = None,
                 embedder: CachedEmbedder | None = None, command: str = "") -> dict[str, Any]:
    """Fit the safety head on the bank and ordinary sentences; write `out` with figures and a card."""
    seed_everything(seed)
    bank = bank or ExemplarBank.builtin()
    texts, labels = bank_examples(bank)
    ordinary = ordinary_sentences(ordinary_specs, limit, seed)
    embedder = embedder if embedder is not None else load_embedder(disk_cache=True)
    embed_all(embedder, texts + ordinary)
    x_bank, y_bank = embedder.encode(texts), np.array(labels, np.int64)
    x_ordinary = embedder.encode(ordinary)
    config = FitConfig(**{**FIT.__dict__, "seed": seed})
    risk_bank, category, risk_ordinary = out_of_fold_risk(x_bank, y_bank, x_ordinary, hard_weight, config, seed)
    figures = threshold_figures(risk_bank, category, y_bank, risk_ordinary)
    head = _fit(x_bank, y_bank, x_ordinary, hard_weight, config)
    head.config = {
        "features": HEAD_FEATURES, "embedder": getattr(embedder, "name", DEFAULT_MODEL),
        "thresholds": {"crisis_at": crisis_at, "veto_similarity": veto_similarity},
        "fit": config.__dict__, "hard_weight": hard_weight, "ordinary": list(ordinary_specs),
        "n_bank": {"crisis": len(bank.crisis), "elevated": len(bank.elevated), "negative": len(bank.negative)},
        "n_ordinary": len(ordinary), "seed": seed,
    }
    out.mkdir(parents=True, exist_ok=True)
    head.save(out)
    metrics = {"out_of_fold": figures}
    write_json(out / "metrics.json", metrics)
    threshold_plot(figures, crisis_at, out / "safety-tradeoff.png")
    (out / "MODEL_CARD.md").write_text(_card(figures, head.config, ordinary_specs, command))
    log.info("wrote %s", out)
    return metrics


def _card(figures: Sequence[dict[str, Any]], config: dict[str, Any], ordinary_specs: Sequence[str], command: str) -> str:
    rows = ["| crisis_at | crisis recall | category right | hard negatives at crisis | elevated at crisis | "
            "ordinary at crisis |", "|---|---|---|---|---|---|"]
    rows += [f"| {r['crisis_at']} | {100 * r['crisis_recall']:.1f} | {100 * r['category_right']:.1f} | "
             f"{100 * r['hard_negatives_at_crisis']:.1f} | {100 * r['elevated_at_crisis']:.1f} | "
             f"{100 * r['ordinary_at_crisis']:.2f} |" for r in figures]
    n = config["n_bank"]
    return "\n".join([
        "# heartline safety head", "",
        "Softmax regression on all-MiniLM-L6-v2 embeddings of one sentence: no risk, elevated risk, or a "
        "crisis of one of six categories (suicide, self-harm, overdose, harm to others, abuse, danger). "
        "Part of the safety gate's semantic detector, which calls a sentence crisis when the summed "
        f"crisis probability reaches {config['thresholds']['crisis_at']} and no negative or elevated exemplar "
        f"has cosine similarity {config['thresholds']['veto_similarity']} or more; the rules and the exemplar "
        "bank run alongside it, and a crisis from any of them wins.", "",
        "## Intended use", "",
        "A second line of crisis detection for a supportive chatbot, never the only one: it misses "
        "crises and raises false alarms (figures below and in docs/safety.md). Not a clinical instrument.", "",
        "## Training data", "",
        f"- heartline's exemplar bank and labelled test phrasings ({n['crisis']} crisis, {n['elevated']} elevated, "
        f"{n['negative']} hard negatives; written for the project, Apache-2.0); hard negatives weighted "
        f"x{config['hard_weight']}",
        *[f"- `{s}`: {config['n_ordinary']} ordinary sentences (a seeded sample; those the rules flag are dropped)"
          for s in ordinary_specs], "",
        "## Licences", "", "- heartline's phrasings: Apache-2.0", *[f"- {e}" for e in licences(["goemotions"])], "",
        "## Out-of-fold figures (head alone, %)", "", *rows, "",
        "Held-out figures of the whole gate: docs/safety.md.", "",
        "## Reproduce", "", "```", command, "```", "",
    ])
