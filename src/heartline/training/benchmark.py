"""Strategy benchmark: Q / W-F1 / B of planners on a dataset's supporter turns, and speed.

Every planner sees the same `PlanContext`s (every supporter utterance, the published ESConv
protocol, or the first reply to each seeker message; see `training.examples`) and is scored
with the same code (`evaluation.classification`). Speed is timed on first replies, as live.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Sequence
from typing import Any

from heartline.labels import STRATEGIES
from heartline.planning.base import Planner
from heartline.planning.trained import TrainedPlanner, time_planner
from heartline.training.common import progress_bar, read_dialogues
from heartline.training.examples import SupporterExample, Targets, is_first_reply, supporter_examples
from heartline.evaluation.classification import classification_report

log = logging.getLogger(__name__)


def benchmark_examples(specs: Sequence[str], limit: int | None = None, seed: int = 0,
                       targets: Targets = "every") -> list[SupporterExample]:
    """Strategy-labelled supporter turns of `specs`; a seeded random sample of `limit` of them."""
    examples = [e for e in supporter_examples(read_dialogues(specs), targets)
                if e.target.strategy in STRATEGIES[e.context.taxonomy]]
    if limit is not None and limit < len(examples):
        examples = random.Random(seed).sample(examples, limit)
    return examples


def score_planner(planner: Planner, examples: Sequence[SupporterExample], name: str) -> dict[str, Any]:
    """The planner's strategy for each example, scored against the gold strategies."""
    predictions = []
    with progress_bar(f"planning: {name}", len(examples)) as advance:
        for example in examples:
            predictions.append(planner.plan(example.context).strategy)
            advance(1)
    taxonomy = examples[0].context.taxonomy
    gold = [e.target.strategy or "" for e in examples]
    return classification_report(gold, predictions, STRATEGIES[taxonomy])


def timing_contexts(examples: Sequence[SupporterExample], turns: int) -> list:
    """First-reply contexts in dialogue order (as a live session replays them), `turns` of them."""
    return [e.context for e in examples if is_first_reply(e.context)][:turns]


def speed(planner: TrainedPlanner, examples: Sequence[SupporterExample], turns: int = 200) -> dict[str, float]:
    """ms per turn of the three steps with a fresh memo (earlier turns cached, as live)."""
    timing = time_planner(planner, timing_contexts(examples, turns))
    return {"turns": timing.turns, "median_ms": timing.median_ms, "p90_ms": timing.p90_ms,
            "mean_ms": timing.mean_ms, "cpu_median_ms": timing.cpu_median_ms,
            "load_average": os.getloadavg()[0]}
