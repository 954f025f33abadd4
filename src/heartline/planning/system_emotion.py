"""System emotion: the supporter's own tone for the next reply, from a head trained on MESC.

MESC labels each therapist utterance with an emotion. The head sees the dialogue features of
the strategy head (in MESC's taxonomy) plus the chosen strategy; ESConv strategies are mapped
to their closest MESC counterpart first, so one head serves both taxonomies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np

from heartline.embeddings import Embedder, load_embedder
from heartline.heads import Head, check_head, resolve_head
from heartline.labels import EMOTIONS, MESC_STRATEGIES
from heartline.planning.features import Embed, dialogue_features
from heartline.planning.strategy import user_emotion_distribution
from heartline.schema import PlanContext

FEATURES = "dialogue-strategy-v2"
DEFAULT_HEAD = "system-emotion"

ESCONV_TO_MESC: Final[dict[str, str]] = {
    "Question": "Open question",
    "Restatement or Paraphrasing": "Restatement",
    "Reflection of feelings": "Interpretation",
    "Self-disclosure": "Self-disclosure",
    "Affirmation and Reassurance": "Approval",
    "Providing Suggestions": "Advisement",
    "Information": "Advisement",
    "Others": "Others",
}
"""Closest MESC strategy of each ESConv strategy (reflection of feelings names what lies
beneath the words, as MESC's interpretation does; information and suggestions both advise)."""


def to_mesc(context: PlanContext) -> PlanContext:
    """The context with its supporter strategies in MESC's taxonomy."""
    if context.taxonomy == "mesc":
        return context
    utterances = [u.model_copy(update={"strategy": ESCONV_TO_MESC.get(u.strategy or "", None)})
                  for u in context.utterances]
    return context.model_copy(update={"utterances": utterances, "taxonomy": "mesc"})


def strategy_onehot(strategy: str) -> np.ndarray:
    """One-hot over MESC strategies; ESConv names are mapped first."""
    name = ESCONV_TO_MESC.get(strategy, strategy)
    vector = np.zeros(len(MESC_STRATEGIES), np.float32)
    if name in MESC_STRATEGIES:
        vector[MESC_STRATEGIES.index(name)] = 1.0
    return vector


def system_emotion_features(context: PlanContext, embed: Embed, dim: int,
                            user_emotion: dict[str, float], strategy: str) -> np.ndarray:
    """Dialogue features (MESC taxonomy) followed by the chosen strategy, one-hot."""
    base = dialogue_features(to_mesc(context), embed, dim, user_emotion, "mesc")
    return np.concatenate([base, strategy_onehot(strategy)])


class SystemEmotionPredictor:
    """`SystemEmotionStep` backed by a head trained with `heartline train system-emotion`."""

    def __init__(self, head: Head, embedder: Embedder) -> None:
        self.head = check_head(head, FEATURES, EMOTIONS)
        self.embedder = embedder

    @classmethod
    def load(cls, head: str | Path = DEFAULT_HEAD, embedder: Embedder | None = None) -> SystemEmotionPredictor:
        loaded = Head.load(resolve_head(head))
        return cls(loaded, embedder if embedder is not None else load_embedder(loaded.config["embedder"]))

    def distribution(self, context: PlanContext, user_emotion: dict[str, float], strategy: str) -> np.ndarray:
        x = system_emotion_features(context, self.embedder.encode, self.embedder.dim, user_emotion, strategy)
        return self.head.proba(x)

    def predict(self, context: PlanContext, user_emotion: str, strategy: str) -> dict[str, float]:
        probs = self.distribution(context, user_emotion_distribution(context, user_emotion), strategy)
        return {e: float(p) for e, p in zip(EMOTIONS, probs)}
