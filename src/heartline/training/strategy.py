"""Train the strategy head (ESConv's 8 or MESC's 10 strategies) and tune its bias control."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from heartline.embeddings import DEFAULT_MAX_TOKENS, DEFAULT_MODEL, CachedEmbedder, load_embedder
from heartline.labels import STRATEGIES
from heartline.perception.text_emotion import TextEmotionRecognizer
from heartline.planning.bias import BiasControl, fit_f1_offsets, fit_match_offsets, training_prior
from heartline.planning.strategy import FEATURES, strategy_features
from heartline.planning.trained import planner_texts
from heartline.training.card import model_card
from heartline.training.common import (
    embed_all, label_indices, progress_bar, read_dialogues, report, seed_everything, select_head, write_json,
)
from heartline.training.examples import TARGET_NAMES, SupporterExample, Targets, is_first_reply, supporter_examples
from heartline.training.fit import FitConfig, fit_head
from heartline.training.plots import confusion_plot, preferences_plot, tradeoff_plot

log = logging.getLogger(__name__)

DEFAULT_GRID = [FitConfig(hidden=0, l2=l2, balance=b) for l2 in (3e-4, 1e-3, 2e-3, 3e-3) for b in (0.5, 1.0)]
ALPHAS = tuple(round(0.1 * i, 1) for i in range(-10, 16))
"""Prior-correction strengths: negative values move a class-balanced head back towards the prior."""
B_MAX = 0.45
"""The shipped bias control is the best-Q point whose B stays under this: EmoDynamiX's B, the least
biased published ESConv strategy predictor (Kang et al.'s figures put fine-tuned LLMs at 0.83)."""
FOLDS = 5
REPEATS = 4
"""The `f1` offsets are fitted on out-of-fold probabilities of REPEATS random splits of the training
dialogues into FOLDS folds (one split moves ESConv valid W-F1 by ±0.2 with the fold assignment)."""


def taxonomy_of(examples: Sequence[SupporterExample]) -> str:
    taxonomies = {e.context.taxonomy for e in examples}
    if len(taxonomies) != 1:
        raise ValueError(f"training data mixes strategy taxonomies {sorted(taxonomies)}")
    return taxonomies.pop()


def labelled(examples: Sequence[SupporterExample], labels: Sequence[str]) -> list[SupporterExample]:
    return [e for e in examples if e.target.strategy in labels]


def user_emotions(examples: Sequence[SupporterExample], recognizer: TextEmotionRecognizer) -> list[dict[str, float]]:
    """The text emotion head's distribution for each context, as the live pipeline computes it."""
    return [recognizer.recognize(e.context.answered).distribution for e in examples]


def feature_matrix(examples: Sequence[SupporterExample], embedder: CachedEmbedder,
                   emotions: Sequence[dict[str, float]], taxonomy: str) -> np.ndarray:
    return np.stack([strategy_features(e.context, embedder.encode, embedder.dim, emo, taxonomy)
                     for e, emo in zip(examples, emotions)])


def all_texts(examples: Sequence[SupporterExample]) -> list[str]:
    return [t for e in examples for t in planner_texts(e.context)]


def _point(labels: tuple[str, ...], gold: Sequence[str], probs: np.ndarray) -> dict[str, float]:
    m = report(labels, gold, probs)
    return {k: m[k] for k in ("accuracy", "weighted_f1", "macro_f1", "preference_bias")}


def bias_curve(probs: np.ndarray, gold: Sequence[str], labels: tuple[str, ...],
               control: BiasControl) -> list[dict[str, Any]]:
    """Q, W-F1, B and accuracy on valid for no control, prior correction at each alpha, prior matching
    and the F1-tuned offsets."""
    curve: list[dict[str, Any]] = [{"method": "none", "alpha": 0.0, **_point(labels, gold, probs)}]
    for alpha in (a for a in ALPHAS if a != 0.0):
        corrected = control.with_method("prior", alpha).apply(probs)
        curve.append({"method": "prior", "alpha": alpha, **_point(labels, gold, corrected)})
    for method in ("match", "f1"):
        curve.append({"method": method, "alpha": 0.0, **_point(labels, gold, control.with_method(method).apply(probs))})
    return curve


def choose_bias(curve: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The best Q among the points with B ≤ B_MAX (the lowest B when none is)."""
    finite = [p for p in curve if np.isfinite(p["preference_bias"])] or list(curve)
    ok = [p for p in finite if p["preference_bias"] <= B_MAX]
    if not ok:
        return min(finite, key=lambda p: p["preference_bias"])
    return max(ok, key=lambda p: (p["macro_f1"], -p["preference_bias"]))


def fit_bias(head, x_train: np.ndarray, y_train: np.ndarray, labels: tuple[str, ...]) -> BiasControl:
    """Training prior and prior-matching offsets (from the head's choices on the training contexts)."""
    prior = training_prior(np.bincount(y_train, minlength=len(labels)))
    return BiasControl(prior, "match", 0.0, fit_match_offsets(head.proba(x_train), prior))


def out_of_fold_proba(x: np.ndarray, y: np.ndarray, groups: Sequence[str], labels: tuple[str, ...],
                      config: FitConfig, folds: int = FOLDS, repeats: int = REPEATS, seed: int = 0) -> np.ndarray:
    """Each training row's probabilities from a head fitted without its dialogue's fold, for
    `repeats` seeded random splits into `folds` dialogue-grouped folds, stacked: row r·n + i is
    row i in repeat r."""
    dialogues = list(dict.fromkeys(groups))
    if len(dialogues) < 2:
        raise ValueError("out-of-fold probabilities need at least two training dialogues")
    folds = min(folds, len(dialogues))
    rng = np.random.default_rng(seed)
    out = np.zeros((repeats * len(y), len(labels)))
    with progress_bar("out-of-fold heads", repeats * folds) as advance:
        for r in range(repeats):
            fold_of = dict(zip(dialogues, rng.permutation(len(dialogues)) % folds))
            fold = np.array([fold_of[g] for g in groups])
            for f in range(folds):
                held = np.flatnonzero(fold == f)
                out[r * len(y) + held] = fit_head(x[fold != f], y[fold != f], labels, config).proba(x[held])
                advance(1)
    return out


def fit_f1_bias(control: BiasControl, oof: np.ndarray, y_train: np.ndarray) -> BiasControl:
    """`control` with `f1` offsets fitted on stacked out-of-fold probabilities, from their prior matching."""
    gold = np.tile(y_train, len(oof) // len(y_train))
    start = fit_match_offsets(oof, control.prior)
    return replace(control, f1_offsets=fit_f1_offsets(oof, gold, start))


def train_strategy(train_specs: Sequence[str], valid_specs: Sequence[str], out: Path, *,
                   emotion_head: str = "text-emotion", seed: int = 0,
                   candidates: Sequence[FitConfig] | None = None,
                   embedder: CachedEmbedder | None = None, targets: Targets = "every",
                   command: str = "") -> dict[str, Any]:
    """Fit on train, select the head on valid macro-F1 (Q), then tune alpha on valid; write `out`.

    `targets` picks the supporter utterances trained and scored on (`training.examples`); with
    "every", the metrics also hold the first replies' figures (`valid_first_replies`).
    """
    seed_everything(seed)
    train_all = supporter_examples(read_dialogues(train_specs), targets)
    taxonomy = taxonomy_of(train_all)
    labels = STRATEGIES[taxonomy]
    train = labelled(train_all, labels)
    valid = labelled(supporter_examples(read_dialogues(valid_specs), targets), labels)
    if not train or not valid:
        raise ValueError("no strategy-labelled supporter turns in the training or validation data")
    embedder = embedder if embedder is not None else load_embedder(disk_cache=True)
    embed_all(embedder, all_texts(train) + all_texts(valid))
    recognizer = TextEmotionRecognizer.load(emotion_head, embedder)
    x_train = feature_matrix(train, embedder, user_emotions(train, recognizer), taxonomy)
    x_valid = feature_matrix(valid, embedder, user_emotions(valid, recognizer), taxonomy)
    y_train = label_indices(labels, [e.target.strategy for e in train])
    gold = [e.target.strategy for e in valid]

    def score(head) -> float:  # Q after prior matching, the default bias control
        matched = fit_bias(head, x_train, y_train, labels).apply(head.proba(x_valid))
        return float(report(labels, gold, matched)["macro_f1"])

    configs = [FitConfig(**{**c.__dict__, "seed": seed}) for c in (candidates or DEFAULT_GRID)]
    head, chosen, trials = select_head(x_train, y_train, labels, configs, score, "fitting strategy heads")
    oof = out_of_fold_proba(x_train, y_train, [e.dialogue for e in train], labels, chosen, seed=seed)
    fitted = fit_f1_bias(fit_bias(head, x_train, y_train, labels), oof, y_train)
    probs = head.proba(x_valid)
    curve = bias_curve(probs, gold, labels, fitted)
    best_prior = max((p for p in curve if p["method"] == "prior"), key=lambda p: p["macro_f1"])
    pick = choose_bias(curve)
    bias = fitted.with_method(pick["method"], pick["alpha"] if pick["method"] == "prior" else best_prior["alpha"])
    alpha = bias.alpha
    metrics = {"valid": report(labels, gold, bias.apply(probs))}
    first = [i for i, e in enumerate(valid) if is_first_reply(e.context)]
    if targets == "every":
        metrics["valid_first_replies"] = report(labels, [gold[i] for i in first], bias.apply(probs)[first])
    metrics.update({"valid_uncorrected": report(labels, gold, probs), "bias_curve": curve,
                    "bias": {"method": bias.method, "alpha": alpha}, "selection": trials})
    datasets = sorted({e.dataset for e in train})
    head.config = {
        "features": FEATURES, "taxonomy": taxonomy,
        "embedder": getattr(embedder, "name", DEFAULT_MODEL),
        "max_tokens": getattr(embedder.inner, "max_tokens", DEFAULT_MAX_TOKENS),
        "emotion_head": str(emotion_head), "bias": bias.to_json(), "fit": chosen.__dict__,
        "train": list(train_specs), "valid": list(valid_specs), "datasets": datasets,
        "targets": targets, "n_train": len(train), "seed": seed,
    }
    out.mkdir(parents=True, exist_ok=True)
    head.save(out)
    write_json(out / "metrics.json", metrics)
    final = metrics["valid"]
    method = f"bias control {bias.method}" + (f", alpha={alpha}" if bias.method == "prior" else "")
    confusion_plot(final["confusion"], labels, f"strategy ({taxonomy}), valid, {method}", out / "confusion.png")
    preferences_plot(final["preferences"], final["preference_bias"], f"strategy preferences, {method}",
                     out / "preferences.png")
    uncorrected = metrics["valid_uncorrected"]
    preferences_plot(uncorrected["preferences"], uncorrected["preference_bias"],
                     "strategy preferences, no bias control", out / "preferences-uncorrected.png")
    tradeoff_plot(curve, f"bias control on {taxonomy} valid", out / "bias-tradeoff.png")
    (out / "MODEL_CARD.md").write_text(model_card(
        title=f"heartline strategy head ({taxonomy})",
        summary=(f"Predicts the supporter's next strategy ({len(labels)} {taxonomy} strategies) from the "
                 "dialogue so far: all-MiniLM-L6-v2 embeddings of the seeker's message, the supporter's "
                 "last utterance and a 6-utterance window, earlier strategies, the user emotion from the "
                 "text emotion head, the position in the conversation, and lexical cues (greetings, thanks, "
                 "requests for help, length, '?' and '!') of the message and the supporter's last utterance, "
                 "and where in the supporter's reply the utterance falls. Softmax regression, then "
                 f"{method} against preference bias."),
        datasets=sorted(set(datasets) | set(recognizer.head.config.get("datasets", []))),
        train_specs=train_specs,
        valid={f"{', '.join(valid_specs)}{suffix}": metrics[key] for key, suffix in (
            ("valid", f" ({method})"), ("valid_first_replies", f", first replies ({method})"),
            ("valid_uncorrected", " (no correction)")) if key in metrics},
        with_bias=True, command=command,
        details=[f"selected: {chosen}",
                 f"{len(train)} training and {len(valid)} valid turns, {TARGET_NAMES[targets]} ({len(first)} "
                 "valid first replies: what the live pipeline plans)",
                 "bias control: prior correction (alpha), prior matching (offsets fitted on the training contexts) "
                 f"or F1-tuned offsets (fitted on out-of-fold training probabilities, {REPEATS} random {FOLDS}-fold "
                 f"splits by dialogue), whichever has the best Q on valid with B <= {B_MAX}; all points in "
                 "metrics.json `bias_curve` and bias-tradeoff.png"],
    ))
    log.info("wrote %s", out)
    return metrics
