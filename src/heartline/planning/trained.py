"""The trained planner: user emotion -> strategy -> system emotion from three small heads.

The three heads share one embedder behind an in-memory memo: the new texts of a turn are
embedded together in one batch, and earlier turns not again at all.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from heartline.embeddings import Embedder, load_embedder
from heartline.labels import EMOTIONS, STRATEGY_DESCRIPTIONS
from heartline.perception.text_emotion import DEFAULT_HEAD as EMOTION_HEAD
from heartline.perception.text_emotion import TextEmotionRecognizer, emotion_texts
from heartline.planning.strategy import DEFAULT_HEADS as STRATEGY_HEADS
from heartline.planning.bias import Method
from heartline.planning.features import context_texts
from heartline.planning.strategy import StrategyPredictor
from heartline.planning.system_emotion import DEFAULT_HEAD as SYSTEM_HEAD
from heartline.planning.system_emotion import SystemEmotionPredictor
from heartline.schema import Plan, PlanContext


def planner_texts(context: PlanContext) -> list[str]:
    """Every text the three heads embed for `context`: the dialogue features' and the user
    emotion's (read on the seeker's message the context answers)."""
    return context_texts(context) + [t for t in emotion_texts(context.answered) if t is not None]


class TrainedPlanner:
    """`Planner` composing the text emotion, strategy and system-emotion heads (source 'trained')."""

    source = "trained"

    def __init__(self, emotion: TextEmotionRecognizer, strategy: StrategyPredictor,
                 system: SystemEmotionPredictor) -> None:
        self.emotion = emotion
        self.strategy = strategy
        self.system = system
        self.taxonomy = strategy.taxonomy

    @classmethod
    def load(cls, taxonomy: str = "esconv", *, emotion_head: str | Path = EMOTION_HEAD,
             strategy_head: str | Path | None = None, system_head: str | Path = SYSTEM_HEAD,
             bias: Method | None = None, alpha: float | None = None,
             embedder: Embedder | None = None) -> TrainedPlanner:
        """Heads by shipped name or directory; `bias`/`alpha` override the strategy head's bias
        control (see `StrategyPredictor.load`)."""
        embedder = embedder if embedder is not None else load_embedder()
        return cls(
            TextEmotionRecognizer.load(emotion_head, embedder),
            StrategyPredictor.load(strategy_head or STRATEGY_HEADS[taxonomy], taxonomy, embedder, bias, alpha),
            SystemEmotionPredictor.load(system_head, embedder),
        )

    @classmethod
    def load_default(cls, taxonomy: str = "esconv") -> TrainedPlanner:
        """The heads that ship with heartline."""
        return cls.load(taxonomy)

    def user_emotion(self, context: PlanContext) -> dict[str, float]:
        """The perceived (fused) emotion when perception ran, else the text emotion head's."""
        if context.perception is not None and context.perception.fused is not None:
            return dict(context.perception.fused.distribution)
        return self.emotion.recognize(context.answered).distribution

    def prefetch(self, context: PlanContext) -> None:
        """Embed every new text the three heads need in one batch (one forward pass is much
        cheaper than several); the heads then find them in the shared memo."""
        self.strategy.embedder.encode(list(dict.fromkeys(planner_texts(context))))

    def plan(self, context: PlanContext) -> Plan:
        self.prefetch(context)
        user = self.user_emotion(context)
        user_label = max(EMOTIONS, key=lambda e: user.get(e, 0.0))
        strategy_probs = self.strategy.distribution(context, user)
        labels = self.strategy.head.labels
        strategy = labels[int(np.argmax(strategy_probs))]
        system_probs = self.system.distribution(context, user, strategy)
        system = EMOTIONS[int(np.argmax(system_probs))]
        reason = (f"they seem {user_label} ({user.get(user_label, 0.0):.0%}); "
                  f"{strategy} ({float(strategy_probs.max()):.0%}): {STRATEGY_DESCRIPTIONS.get(strategy, '')}; "
                  f"tone {system}")
        return Plan(
            user_emotion=user_label,
            strategy=strategy,
            strategy_distribution={s: float(p) for s, p in zip(labels, strategy_probs)},
            system_emotion=system,
            reason=reason,
            taxonomy=self.taxonomy,  # type: ignore[arg-type]
            source=self.source,
        )


@dataclass(frozen=True)
class Timing:
    """Per-turn milliseconds: wall clock, and CPU time of this process (which a busy machine
    inflates less than the wall clock)."""

    turns: int
    median_ms: float
    p90_ms: float
    mean_ms: float
    cpu_median_ms: float


def time_planner(planner: TrainedPlanner, contexts: Sequence[PlanContext], warmup: int = 5) -> Timing:
    """Milliseconds per turn for the three steps, embeddings included, replaying `contexts` in
    order as a live session would (earlier turns are in the embedder's memo, new ones are not)."""
    for context in contexts[:warmup]:
        planner.plan(context)
    wall, cpu = [], []
    for context in contexts[warmup:]:
        start, start_cpu = time.perf_counter(), time.process_time()
        planner.plan(context)
        wall.append(1000 * (time.perf_counter() - start))
        cpu.append(1000 * (time.process_time() - start_cpu))
    if not wall:
        raise ValueError(f"need more than {warmup} contexts to time")
    ordered = sorted(wall)
    return Timing(len(wall), statistics.median(wall), ordered[int(0.9 * (len(ordered) - 1))],
                  statistics.fmean(wall), statistics.median(cpu))
