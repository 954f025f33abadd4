"""Train the text emotion head: GoEmotions (Ekman map), MELD, MESC client turns, ESConv openings.

ESConv labels emotion per dialogue, not per turn: its seekers' first `WEAK_TURNS` substantive
messages (at least `WEAK_MIN_WORDS` words) take the dialogue's emotion as a weak label. They are
the support-domain examples the other corpora lack (a seeker describing their trouble after a
supporter's prompt).
"""

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
from heartline.schema import Dialogue, PlanContext
from heartline.training.examples import EmotionExample, emotion_examples
from heartline.training.fit import FitConfig
from heartline.training.plots import confusion_plot

log = logging.getLogger(__name__)

# Milder class balancing than macro-F1 selection would pick (0.5): with the ESConv openings it
# keeps every valid weighted-F1 and reads support messages better (docs/training.md).
DEFAULT_GRID = [FitConfig(hidden=0, l2=1e-5, balance=0.25)]
WEAK_TURNS = 2
WEAK_MIN_WORDS = 6


def dialogue_emotion_examples(dialogues: Sequence[Dialogue], turns: int = WEAK_TURNS,
                              min_words: int = WEAK_MIN_WORDS) -> list[EmotionExample]:
    """The first `turns` seeker messages of >= `min_words` words, labelled with the dialogue's emotion.

    Only dialogues without utterance-level emotions (ESConv) contribute.
    """
    out = []
    for dialogue in dialogues:
        if not dialogue.emotion or any(u.emotion for u in dialogue.utterances):
            continue
        taken = 0
        for i, utterance in enumerate(dialogue.utterances):
            if taken == turns:
                break
            if utterance.speaker == "seeker" and len(utterance.text.split()) >= min_words:
                context = PlanContext(utterances=dialogue.utterances[: i + 1], taxonomy=dialogue.taxonomy or "esconv")
                out.append(EmotionExample(context, dialogue.emotion, dialogue.dataset))
                taken += 1
    return out


def emotion_matrix(examples: Sequence[EmotionExample], embedder: CachedEmbedder) -> np.ndarray:
    return np.stack([emotion_features(e.context, embedder.encode) for e in examples])


def _texts(examples: Sequence[EmotionExample]) -> list[str]:
    return [t for e in examples for t in emotion_texts(e.context) if t is not None]


def train_emotion(train_specs: Sequence[str], valid_specs: Sequence[str], out: Path, *,
                  seed: int = 0, candidates: Sequence[FitConfig] | None = None,
                  embedder: CachedEmbedder | None = None, command: str = "") -> dict[str, Any]:
    """Fit on the train specs, select on the mean macro-F1 over the valid specs, write `out`."""
    seed_everything(seed)
    dialogues = read_dialogues(train_specs)
    train = emotion_examples(dialogues) + dialogue_emotion_examples(dialogues)
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
                 "all-MiniLM-L6-v2 embeddings of the latest message and the utterance before it "
                 "(ESConv seekers' first substantive messages carry their dialogue's emotion); "
                 "softmax regression with a class-balanced loss, fitted with L-BFGS."),
        datasets=datasets, train_specs=train_specs, valid=metrics, with_bias=False,
        command=command, details=[f"selected: {chosen}", f"{len(train)} training utterances"],
    ))
    log.info("wrote %s", out)
    return metrics
