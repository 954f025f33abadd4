"""Strategy predictor: a trained head over dialogue-context features, with bias control."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from heartline.embeddings import Embedder, load_embedder
from heartline.heads import Head, check_head, resolve_head
from heartline.labels import EMOTIONS, STRATEGIES
from heartline.planning.bias import BiasControl, Method
from heartline.planning.features import Embed, dialogue_features, reply_features
from heartline.schema import PlanContext

FEATURES = "dialogue-v3"
DEFAULT_HEADS = {"esconv": "strategy-esconv", "mesc": "strategy-mesc"}


def strategy_features(context: PlanContext, embed: Embed, dim: int, user_emotion: dict[str, float],
                      taxonomy: str) -> np.ndarray:
    """The strategy head's input: `dialogue_features` and where in the supporter's reply it plans."""
    return np.concatenate([dialogue_features(context, embed, dim, user_emotion, taxonomy), reply_features(context)])


def user_emotion_distribution(context: PlanContext, user_emotion: str) -> dict[str, float]:
    """The perceived distribution when the context carries one for this label, else one-hot."""
    fused = context.perception.fused if context.perception else None
    if fused is not None and fused.label == user_emotion:
        return dict(fused.distribution)
    return {e: float(e == user_emotion) for e in EMOTIONS}


class StrategyPredictor:
    """`StrategyStep` backed by a head trained with `heartline train strategy`."""

    def __init__(self, head: Head, embedder: Embedder, bias: Method | None = None,
                 alpha: float | None = None) -> None:
        self.taxonomy: str = head.config.get("taxonomy", "esconv")
        self.head = check_head(head, FEATURES, STRATEGIES[self.taxonomy])
        self.embedder = embedder
        fitted = head.config.get("bias")
        self.bias = BiasControl.from_json(fitted) if fitted else None
        if self.bias and (bias or alpha is not None):
            self.bias = self.bias.with_method(bias or "prior", alpha)

    @classmethod
    def load(cls, head: str | Path | None = None, taxonomy: str = "esconv", embedder: Embedder | None = None,
             bias: Method | None = None, alpha: float | None = None) -> StrategyPredictor:
        """A trained head (default: the shipped one for `taxonomy`).

        `bias` overrides the head's tuned bias control ('none', 'prior', 'match', 'f1'); `alpha`
        alone selects prior correction with that alpha.
        """
        loaded = Head.load(resolve_head(head or DEFAULT_HEADS[taxonomy]))
        if embedder is None:
            embedder = load_embedder(loaded.config["embedder"])
        return cls(loaded, embedder, bias, alpha)

    def features(self, context: PlanContext, user_emotion: dict[str, float]) -> np.ndarray:
        return strategy_features(context, self.embedder.encode, self.embedder.dim, user_emotion, self.taxonomy)

    def distribution(self, context: PlanContext, user_emotion: dict[str, float]) -> np.ndarray:
        """Bias-controlled probabilities over the taxonomy's strategies."""
        probs = self.head.proba(self.features(context, user_emotion))
        return self.bias.apply(probs) if self.bias else probs

    def predict(self, context: PlanContext, user_emotion: str) -> dict[str, float]:
        probs = self.distribution(context, user_emotion_distribution(context, user_emotion))
        return {s: float(p) for s, p in zip(self.head.labels, probs)}
