"""Train the text emotion head: GoEmotions (Ekman map), MELD, MESC client turns, ... ."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from heartline.embeddings import DEFAULT_MAX_TOKENS, DEFAULT_MODEL, CachedEmbedder, load_embedder
from heartline.labels import EMOTIONS
from heartline.perception.text_emotion import FEATURES, emotion_features, emotion_texts
from heartline.training.card import model_card
from heartline.training.common import (
    embed_all, label_indices, read_dialogues, report, seed_everything, select_head, write_json,
)
from heartline.training.examples import EmotionExample, emotion_examples
from heartline.training.fit import FitConfig
from heartline.training.plots import confusion_plot

log = logging.getLogger(__name__)

DEFAULT_GRID = [FitConfig(hidden=0, l2=l2, balance=b) for l2 in (1e-5, 1e-4) for b in (0.25, 0.5)]


def emotion_matrix(examples: Sequence[EmotionExample], embedder: CachedEmbedder) -> np.ndarray:
    return np.stack([emotion_features(e.context, embedder.encode) for e in examples])


def _texts(examples: Sequence[EmotionExample]) -> list[str]:
    return [t for e in examples for t in emotion_texts(e.context) if t is not None]


def train_emotion(train_specs: Sequence[str], valid_specs: Sequence[str], out: Path, *,
                  seed: int = 0, candidates: Sequence[FitConfig] | None = None,
                  embedder: CachedEmbedder | None = None, command: str = "") -> dict[str, Any]:
    """Fit on the train specs, select on the mean macro-F1 over the valid specs, write `out`."""
    seed_everything(seed)
    train = emotion_examples(read_dialogues(train_specs))
    valid = {spec: emotion_examples(read_dialogues([spec])) for spec in valid_specs}
    if not train:
        raise ValueError("no emotion-labelled seeker utterances in the training data")
    embedder = embedder if embedder is not None else load_embedder(disk_cache=True)
    embed_all(embedder, _texts(train) + [t for ex in valid.values() for t in _texts(ex)])
    x_train = emotion_matrix(train, embedder)
    y_train = label_indices(EMOTIONS, [e.emotion for e in train])
    x_valid = {spec: emotion_matrix(ex, embedder) for spec, ex in valid.items() if ex}
    gold_valid = {spec: [e.emotion for e in ex] for spec, ex in valid.items() if ex}

    def score(head) -> float:
        return float(np.mean([report(EMOTIONS, gold_valid[s], head.proba(x))["macro_f1"]
                              for s, x in x_valid.items()]))

    configs = [FitConfig(**{**c.__dict__, "seed": seed}) for c in (candidates or DEFAULT_GRID)]
    head, chosen, trials = select_head(x_train, y_train, EMOTIONS, configs, score, "fitting emotion heads")
    metrics = {s: report(EMOTIONS, gold_valid[s], head.proba(x)) for s, x in x_valid.items()}
    datasets = sorted({e.dataset for e in train})
    head.config = {
        "features": FEATURES, "embedder": getattr(embedder, "name", DEFAULT_MODEL),
        "max_tokens": getattr(embedder.inner, "max_tokens", DEFAULT_MAX_TOKENS),
        "fit": chosen.__dict__, "train": list(train_specs), "valid": list(valid_specs),
        "datasets": datasets, "n_train": len(train), "seed": seed,
    }
    out.mkdir(parents=True, exist_ok=True)
    head.save(out)
    write_json(out / "metrics.json", {"valid": metrics, "selection": trials})
    for i, (spec, m) in enumerate(metrics.items()):
        confusion_plot(m["confusion"], EMOTIONS, f"text emotion, {spec}", out / f"confusion-{i}.png")
    (out / "MODEL_CARD.md").write_text(model_card(
        title="heartline text emotion head",
        summary=("Recognises the seeker's emotion (canonical 7: " + ", ".join(EMOTIONS) + ") from the "
                 "all-MiniLM-L6-v2 embeddings of the latest message and the utterance before it; "
                 "softmax regression with a class-balanced loss, fitted with L-BFGS."),
        datasets=datasets, train_specs=train_specs, valid=metrics, with_bias=False,
        command=command, details=[f"selected: {chosen}", f"{len(train)} training utterances"],
    ))
    log.info("wrote %s", out)
    return metrics
