"""Counts and label distributions of loaded dataset records, for `heartline data stats`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, Field

from heartline.datasets.records import MediaSample, RoleCard
from heartline.schema import Dialogue, Utterance


class DatasetStats(BaseModel):
    """Counts (numbers) and distributions (label -> count, most frequent first)."""

    counts: dict[str, int | float] = Field(default_factory=dict)
    distributions: dict[str, dict[str, int]] = Field(default_factory=dict)


def _dist(values: list[object]) -> dict[str, int]:
    return dict(Counter("(none)" if v is None else str(v) for v in values).most_common())


def _raw_labels(utterance: Utterance) -> list[str]:
    """The dataset's own labels of an utterance: each label of a multi-label one (GoEmotions)."""
    labels = utterance.meta.get("labels")
    if isinstance(labels, list):
        return [str(label) for label in labels]
    return [utterance.raw_emotion] if utterance.raw_emotion is not None else []


def dialogue_stats(dialogues: Sequence[Dialogue]) -> DatasetStats:
    """Dialogue, utterance and turn counts; strategy and emotion distributions."""
    utterances = [u for d in dialogues for u in d.utterances]
    supporter = [u for u in utterances if u.speaker == "supporter"]
    counts: dict[str, int | float] = {
        "dialogues": len(dialogues),
        "utterances": len(utterances),
        "seeker turns": len(utterances) - len(supporter),
        "supporter turns": len(supporter),
        "avg utterances per dialogue": round(len(utterances) / len(dialogues), 2)
        if dialogues
        else 0,
        "utterances with cues": sum(u.cues is not None for u in utterances),
    }
    distributions = {
        "strategy (supporter turns)": _dist([u.strategy for u in supporter]),
        "raw strategy (where respelled)": _dist(
            [u.meta["raw_strategy"] for u in supporter if u.meta.get("raw_strategy")]
        ),
        "utterance emotion (canonical)": _dist(
            [u.emotion for u in utterances if u.raw_emotion is not None]
        ),
        # GoEmotions rows whose labels map to different canonical emotions count as (none).
        "utterance emotion (raw)": _dist([label for u in utterances for label in _raw_labels(u)]),
        "dialogue emotion (canonical)": _dist(
            [d.emotion for d in dialogues if d.raw_emotion is not None]
        ),
        "dialogue emotion (raw)": _dist(
            [d.raw_emotion for d in dialogues if d.raw_emotion is not None]
        ),
        "split": _dist([d.split for d in dialogues]),
    }
    return DatasetStats(counts=counts, distributions={k: v for k, v in distributions.items() if v})


def media_stats(samples: Sequence[MediaSample]) -> DatasetStats:
    """Sample counts and emotion/metadata distributions."""
    distributions = {
        "emotion (canonical)": _dist([s.emotion for s in samples]),
        "emotion (raw)": _dist([s.raw_emotion for s in samples]),
    }
    for key in ("actor", "gender", "intensity", "statement", "fer_usage"):
        values = [s.meta[key] for s in samples if key in s.meta]
        if values:
            distributions[key] = _dist(values)
    return DatasetStats(counts={"samples": len(samples)}, distributions=distributions)


def card_stats(cards: Sequence[RoleCard]) -> DatasetStats:
    """Card counts and source/language/field distributions."""
    distributions = {
        "source": _dist([c.source for c in cards]),
        "language": _dist([c.language for c in cards]),
        "category": _dist([c.category for c in cards]),
        "gender": _dist([c.gender for c in cards]),
    }
    return DatasetStats(counts={"cards": len(cards)}, distributions=distributions)


def compute_stats(records: Sequence[object]) -> DatasetStats:
    """Statistics for a list of records of one kind."""
    if records and isinstance(records[0], MediaSample):
        return media_stats(records)  # type: ignore[arg-type]
    if records and isinstance(records[0], RoleCard):
        return card_stats(records)  # type: ignore[arg-type]
    return dialogue_stats(records)  # type: ignore[arg-type]
