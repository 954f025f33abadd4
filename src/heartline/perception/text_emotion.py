"""Text emotion: a trained head on sentence embeddings of the latest message and the turn before.

Features: the embedding of the context's last utterance (the seeker's latest message), the
embedding of the utterance before it (zeros when there is none) and a flag saying whether there
was one. The head maps them to the canonical 7 emotions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from heartline.embeddings import Embedder, load_embedder
from heartline.heads import Head, check_head, resolve_head
from heartline.labels import EMOTIONS
from heartline.schema import EmotionEstimate, PlanContext

DEFAULT_HEAD = "text-emotion"
FEATURES = "emotion-v1"

Embed = Callable[[Sequence[str]], np.ndarray]


def emotion_texts(context: PlanContext) -> tuple[str, str | None]:
    """The text whose emotion we want (the last utterance) and the one before it."""
    if not context.utterances:
        return "", None
    previous = context.utterances[-2].text if len(context.utterances) > 1 else None
    return context.utterances[-1].text, previous


def emotion_features(context: PlanContext, embed: Embed) -> np.ndarray:
    """[e(last utterance), e(previous utterance) or 0, has-previous flag]."""
    text, previous = emotion_texts(context)
    if previous is None:
        vector = embed([text])[0]
        return np.concatenate([vector, np.zeros_like(vector), [0.0]]).astype(np.float32)
    vectors = embed([text, previous])
    return np.concatenate([vectors[0], vectors[1], [1.0]]).astype(np.float32)


class TextEmotionRecognizer:
    """`TextEmotionModel` from a trained head (default: the shipped `text-emotion` head)."""

    source = "heartline/text-emotion"

    def __init__(self, head: Head, embedder: Embedder) -> None:
        self.head = check_head(head, FEATURES, EMOTIONS)
        self.embedder = embedder

    @classmethod
    def load(cls, head: str | Path = DEFAULT_HEAD, embedder: Embedder | None = None) -> TextEmotionRecognizer:
        """A head by shipped name or directory; the embedder defaults to the one it was trained on."""
        loaded = Head.load(resolve_head(head))
        return cls(loaded, embedder if embedder is not None else load_embedder(loaded.config["embedder"]))

    def distribution(self, context: PlanContext) -> np.ndarray:
        """Probabilities over `EMOTIONS`."""
        return self.head.proba(emotion_features(context, self.embedder.encode))

    def recognize(self, context: PlanContext) -> EmotionEstimate:
        probs = self.distribution(context)
        return EmotionEstimate(
            modality="text",
            distribution={e: float(p) for e, p in zip(EMOTIONS, probs)},
            confidence=float(probs.max()),
            source=self.source,
        )
