"""The crisis classifier: a fine-tuned encoder that reads a message with its conversation.

all-MiniLM-L6-v2 fine-tuned end to end with LoRA (`heartline train safety`) reads the person's
message as the first segment and the recent conversation as the second (their last messages
and the supporter's last reply, most recent first), so a follow-up ("and how many more than
that would kill someone my size?") is judged in context. Three heads share the encoder:

- `risk`: none, elevated, or a crisis of one of the six categories;
- `whose`: self, other or child (whose risk it is);
- `reply`: whether a model's sentence is harmful (the reply screen's head; read without context).

A message longer than one window is read in overlapping windows and its riskiest window
counts. Texts pass through the rules' normalisation first (look-alike letters, zero-width
characters, leetspeak), in training and here alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from heartline.cpu import auto_threads
from heartline.finetuned import FineTunedEncoder
from heartline.safety.corpus import CATEGORIES, WHOSE, Said

log = logging.getLogger(__name__)

RISK_LABELS: tuple[str, ...] = ("none", "elevated", *CATEGORIES)
REPLY_LABELS: tuple[str, ...] = ("safe", "harmful")
HEADS: dict[str, tuple[str, ...]] = {"risk": RISK_LABELS, "whose": WHOSE, "reply": REPLY_LABELS}
CONTEXT_PERSON_TURNS = 3
CONTEXT_CHARS = 300
"""Characters kept of each earlier turn in the context segment."""
FEATURES = "message+context-v1"


def context_text(history: Sequence[Said]) -> str | None:
    """The second segment: the person's last messages and the supporter's last reply, newest first."""
    picked: list[Said] = []
    people = supporters = 0
    for said in reversed(history):
        if said.role == "person" and people < CONTEXT_PERSON_TURNS:
            picked.append(said)
            people += 1
        elif said.role == "supporter" and supporters < 1:
            picked.append(said)
            supporters += 1
    if not picked:
        return None
    return " | ".join(f"{s.role}: {s.text[:CONTEXT_CHARS]}" for s in picked)


@dataclass(frozen=True)
class Assessment:
    """What the classifier makes of one message."""

    crisis: float
    """Probability of a crisis (the six categories summed), in the riskiest window."""
    elevated: float
    """Probability of elevated risk in that window."""
    category: str
    """The likeliest crisis category."""
    whose: str
    whose_confidence: float


@cache
def shared_classifier() -> CrisisClassifier:
    """The shipped crisis classifier, loaded once per process (its base encoder fetched once)."""
    from heartline.safety.rules import RuleSet

    return CrisisClassifier(RuleSet.builtin().readable)


def builtin_dir() -> Path:
    return Path(str(resources.files("heartline").joinpath("resources", "heads", "safety")))


class CrisisClassifier:
    """The fine-tuned safety encoder with its decision thresholds."""

    def __init__(self, prepare: Callable[[str], str], directory: Path | None = None,
                 base_dir: Path | None = None, threads: int | None = None) -> None:
        self.model = FineTunedEncoder(directory or builtin_dir(), base_dir=base_dir,
                                      threads=threads if threads is not None else auto_threads())
        self.prepare = prepare
        thresholds = self.model.config.extra.get("thresholds", {})
        self.crisis_at = float(thresholds.get("crisis_at", 0.5))
        self.elevated_at = float(thresholds.get("elevated_at", 0.5))
        self.harmful_at = float(thresholds.get("harmful_at", 0.5))

    def assess(self, text: str, history: Sequence[Said] = ()) -> Assessment:
        return self.assess_many([(text, history)])[0]

    def assess_many(self, items: Sequence[tuple[str, Sequence[Said]]]) -> list[Assessment]:
        prepared = [(self.prepare(text), _prepared_context(history, self.prepare)) for text, history in items]
        return [_assessment(p) for p in self.model.predict(prepared)]

    def harm(self, sentences: Sequence[str]) -> list[float]:
        """Probability that each model sentence is harmful (the riskiest window of each)."""
        out = self.model.predict([(self.prepare(s), None) for s in sentences])
        return [float(p["reply"][:, 1].max()) for p in out]


def _prepared_context(history: Sequence[Said], prepare: Callable[[str], str]) -> str | None:
    context = context_text(history)
    return prepare(context) if context else None


def crisis_probability(risk: np.ndarray) -> np.ndarray:
    """Summed probability of the crisis categories, per row of `risk` (rows over RISK_LABELS)."""
    return risk[..., 2:].sum(axis=-1)


def _assessment(probs: dict[str, np.ndarray]) -> Assessment:
    risk = probs["risk"]
    crisis = crisis_probability(risk)
    worst = int(np.argmax(crisis + risk[:, 1] * 1e-3))
    row, whose = risk[worst], probs["whose"][worst]
    return Assessment(
        crisis=float(crisis[worst]),
        elevated=float(row[1]),
        category=CATEGORIES[int(np.argmax(row[2:]))],
        whose=WHOSE[int(np.argmax(whose))],
        whose_confidence=float(whose.max()),
    )
