"""Train the system-emotion head: the supporter's tone, from MESC's therapist emotion labels."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from heartline.embeddings import DEFAULT_MAX_TOKENS, DEFAULT_MODEL, CachedEmbedder, load_embedder
from heartline.labels import EMOTIONS
from heartline.perception.text_emotion import TextEmotionRecognizer
from heartline.planning.system_emotion import FEATURES, system_emotion_features
from heartline.training.card import model_card
from heartline.training.common import (
    embed_all, label_indices, read_dialogues, report, seed_everything, select_head, write_json,
)
from heartline.training.examples import SupporterExample, supporter_examples
from heartline.training.fit import FitConfig
from heartline.training.plots import confusion_plot
from heartline.training.strategy import all_texts, user_emotions

log = logging.getLogger(__name__)

DEFAULT_GRID = [FitConfig(hidden=0, l2=l2, balance=b) for l2 in (1e-3, 3e-3) for b in (0.5, 1.0)]


def usable(examples: Sequence[SupporterExample]) -> list[SupporterExample]:
    """Supporter turns with both an emotion and a strategy label."""
    return [e for e in examples if e.target.emotion in EMOTIONS and e.target.strategy]


def feature_matrix(examples: Sequence[SupporterExample], embedder: CachedEmbedder,
                   emotions: Sequence[dict[str, float]]) -> np.ndarray:
    """Features with the gold strategy (teacher forcing: at run time, the predicted one)."""
    return np.stack([system_emotion_features(e.context, embedder.encode, embedder.dim, emo, e.target.strategy or "")
                     for e, emo in zip(examples, emotions)])


def train_system_emotion(train_specs: Sequence[str], valid_specs: Sequence[str], out: Path, *,
                         emotion_head: str = "text-emotion", seed: int = 0,
                         candidates: Sequence[FitConfig] | None = None,
                         embedder: CachedEmbedder | None = None, command: str = "") -> dict[str, Any]:
    """Fit on train, select on valid macro-F1, write `out`."""
    seed_everything(seed)
    train = usable(supporter_examples(read_dialogues(train_specs)))
    valid = usable(supporter_examples(read_dialogues(valid_specs)))
    if not train or not valid:
        raise ValueError("no supporter turns with emotion and strategy labels (MESC has them)")
    embedder = embedder if embedder is not None else load_embedder(disk_cache=True)
    embed_all(embedder, all_texts(train) + all_texts(valid))
    recognizer = TextEmotionRecognizer.load(emotion_head, embedder)
    x_train = feature_matrix(train, embedder, user_emotions(train, recognizer))
    x_valid = feature_matrix(valid, embedder, user_emotions(valid, recognizer))
    y_train = label_indices(EMOTIONS, [e.target.emotion for e in train])
    gold = [e.target.emotion or "" for e in valid]

    def score(head) -> float:
        return float(report(EMOTIONS, gold, head.proba(x_valid))["macro_f1"])

    configs = [FitConfig(**{**c.__dict__, "seed": seed}) for c in (candidates or DEFAULT_GRID)]
    head, chosen, trials = select_head(x_train, y_train, EMOTIONS, configs, score, "fitting system-emotion heads")
    metrics = {"valid": report(EMOTIONS, gold, head.proba(x_valid)), "selection": trials}
    datasets = sorted({e.dataset for e in train})
    head.config = {
        "features": FEATURES, "embedder": getattr(embedder, "name", DEFAULT_MODEL),
        "max_tokens": getattr(embedder.inner, "max_tokens", DEFAULT_MAX_TOKENS),
        "emotion_head": str(emotion_head), "fit": chosen.__dict__, "train": list(train_specs),
        "valid": list(valid_specs), "datasets": datasets, "n_train": len(train), "seed": seed,
    }
    out.mkdir(parents=True, exist_ok=True)
    head.save(out)
    write_json(out / "metrics.json", metrics)
    confusion_plot(metrics["valid"]["confusion"], EMOTIONS, "system emotion, valid", out / "confusion.png")
    (out / "MODEL_CARD.md").write_text(model_card(
        title="heartline system-emotion head",
        summary=("Chooses the supporter's own tone (canonical 7 emotions) for the next reply from the "
                 "dialogue features of the strategy head, the user emotion and the chosen strategy "
                 "(ESConv strategies are mapped to MESC's). Trained on MESC therapist turns with the gold "
                 "strategy; softmax regression with a class-balanced loss."),
        datasets=sorted(set(datasets) | set(recognizer.head.config.get("datasets", []))),
        train_specs=train_specs, valid={", ".join(valid_specs): metrics["valid"]},
        with_bias=False, command=command,
        details=[f"selected: {chosen}", f"{len(train)} training turns",
                 "valid figures use the gold strategy; at run time the predicted strategy is used"],
    ))
    log.info("wrote %s", out)
    return metrics
