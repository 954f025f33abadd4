"""The typed records that flow through one turn, and the dataset records readers yield.

Observation -> Perception -> SafetyCheck -> Plan -> Reply, gathered in a Turn. Stages talk
only through these records, so each intermediate result can be logged, stored and evaluated.
Raw media never serialises: `Media.data` and `Media.samples` are excluded from JSON.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

from heartline.labels import EMOTIONS


def _now() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    """A short random identifier for sessions and turns."""
    return uuid.uuid4().hex[:12]


class Record(BaseModel):
    """Base of all records: strict about unknown fields, JSON round-trippable."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _drop_computed(cls, data: Any) -> Any:
        """Accept our own JSON back: computed fields are output-only."""
        if isinstance(data, dict) and cls.model_computed_fields:
            return {k: v for k, v in data.items() if k not in cls.model_computed_fields}
        return data


# --------------------------------------------------------------------------- observation


class Media(Record):
    """A piece of audio, video or an image: a file path, encoded bytes, or decoded samples.

    Only the path and descriptive fields serialise; bytes and samples stay in memory.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    kind: Literal["audio", "video", "image"]
    path: Path | None = None
    data: bytes | None = Field(default=None, exclude=True, repr=False)
    samples: Any = Field(default=None, exclude=True, repr=False)
    sample_rate: int | None = None
    mime: str | None = None


_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_ESCAPES = re.compile("[\ud800-\udc7f\udd00-\udfff]")
"""Lone surrogates that are not surrogateescape's stand-ins for bytes 0x80-0xFF (e.g. from a
JSON "\\ud800" escape)."""


def valid_unicode(text: str) -> str:
    """`text` with lone surrogates (undecodable input bytes, e.g. invalid UTF-8 read with
    surrogateescape) turned back into bytes and decoded, broken sequences becoming U+FFFD; any
    other lone surrogate becomes one U+FFFD."""
    if _SURROGATE.search(text) is None:
        return text
    raw = _NOT_ESCAPES.sub("\ufffd", text).encode("utf-8", errors="surrogateescape")
    return raw.decode("utf-8", errors="replace")


class Observation(Record):
    """What the person gave us this turn."""

    session_id: str = Field(default_factory=new_id)
    text: str | None = None
    audio: Media | None = None
    video: Media | None = None
    image: Media | None = None
    timestamp: datetime = Field(default_factory=_now)

    @field_validator("text")
    @classmethod
    def _valid_unicode(cls, text: str | None) -> str | None:
        """Undecodable input bytes (lone surrogates, e.g. from invalid UTF-8 on a command line)
        become U+FFFD, so the rest of the message still reaches the safety gate."""
        return None if text is None else valid_unicode(text)


# --------------------------------------------------------------------------- perception


Modality = Literal["text", "voice", "face", "fused", "llm", "prior"]


class EmotionEstimate(Record):
    """A distribution over the canonical emotions from one modality, with a confidence."""

    modality: Modality
    distribution: dict[str, float]
    confidence: float = Field(ge=0.0, le=1.0)
    source: str = ""
    """Which model or rule produced it."""
    arousal: float | None = Field(default=None, ge=-1.0, le=1.0)
    """Calm (-1) to excited (+1), where the modality can tell."""
    valence: float | None = Field(default=None, ge=-1.0, le=1.0)
    """Unpleasant (-1) to pleasant (+1), where the modality can tell."""

    @field_validator("distribution")
    @classmethod
    def _known_emotions(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = set(value) - set(EMOTIONS)
        if unknown:
            raise ValueError(f"unknown emotions {sorted(unknown)}; expected {list(EMOTIONS)}")
        return value

    @computed_field  # type: ignore[prop-decorator]
    @property
    def label(self) -> str:
        """The most probable emotion."""
        if not self.distribution:
            return "neutral"
        return max(self.distribution, key=lambda e: self.distribution[e])

    @classmethod
    def one_hot(cls, emotion: str, modality: Modality, confidence: float, source: str = "") -> EmotionEstimate:
        """An estimate that puts all mass on one emotion."""
        dist = {e: (1.0 if e == emotion else 0.0) for e in EMOTIONS}
        return cls(modality=modality, distribution=dist, confidence=confidence, source=source)


class Perception(Record):
    """How the person seems: transcript, per-modality emotions, fused emotion, cue sentence."""

    transcript: str
    transcript_source: Literal["typed", "speech", "none"] = "typed"
    modalities: dict[str, EmotionEstimate] = Field(default_factory=dict)
    """Per-modality estimates keyed by modality name (text, voice, face)."""
    fused: EmotionEstimate | None = None
    contributions: dict[str, float] = Field(default_factory=dict)
    """Share of each modality in the fused estimate (sums to 1 over the modalities used)."""
    cues: str = ""
    """Short natural-language description of non-verbal cues, e.g. 'voice quiet and slow'."""
    warnings: list[str] = Field(default_factory=list)
    """Modalities that could not be read, and why."""
    measures: dict[str, dict[str, float]] = Field(default_factory=dict)
    """Derived measurements per modality (e.g. voice pitch_hz and rate, face frames read); no raw media."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def user_emotion(self) -> str | None:
        """The fused user emotion label, or None before emotion recognition ran."""
        return self.fused.label if self.fused else None


# --------------------------------------------------------------------------- safety


class RiskLevel(StrEnum):
    NONE = "none"
    ELEVATED = "elevated"
    CRISIS = "crisis"


class SafetyCheck(Record):
    """Risk assessment of the person's message and the protocol to follow."""

    level: RiskLevel = RiskLevel.NONE
    categories: list[str] = Field(default_factory=list)
    """e.g. suicide, self_harm, harm_to_others, abuse, overdose."""
    evidence: list[str] = Field(default_factory=list)
    """The phrases that triggered the assessment."""
    protocol: str | None = None
    """Identifier of the protocol followed (e.g. 'crisis/en-US'), None for ordinary turns."""
    from_history: bool = False
    """True when the level comes from earlier messages (a crisis carried over), not this one."""
    whose: Literal["self", "other", "child"] | None = None
    """Whose risk it is: the writer's, someone else's, a child's (None when there is none)."""
    language: str | None = None
    """The message's language (en, es, fr, de, pt, it): the protocol is worded in it."""
    score: float | None = None
    """The crisis classifier's crisis probability for the message (None without the classifier)."""
    degraded: str | None = None
    """Set when the gate ran weaker than designed (e.g. the classifier could not load): why."""

    @property
    def is_crisis(self) -> bool:
        return self.level == RiskLevel.CRISIS


# --------------------------------------------------------------------------- plan


class Plan(Record):
    """The SMES chain: user emotion -> strategy -> system emotion, with a one-line reason."""

    user_emotion: str
    strategy: str
    strategy_distribution: dict[str, float] = Field(default_factory=dict)
    system_emotion: str = "neutral"
    reason: str = ""
    """Chain-of-empathy line: what happened and why they feel so."""
    taxonomy: Literal["esconv", "mesc"] = "esconv"
    source: str = ""
    """Which planner produced it (e.g. 'llm', 'trained', 'fallback')."""

    @property
    def cause(self) -> str:
        """The chain-of-empathy line of an LLM planner; '' for a trained plan, whose reason only
        restates its labels and confidences."""
        return self.reason if self.source.startswith("llm") else ""


# --------------------------------------------------------------------------- reply


class Timings(Record):
    first_token_s: float | None = None
    total_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    prompt_tokens_per_s: float | None = None
    decode_tokens_per_s: float | None = None
    cached_tokens: int | None = None


class Reply(Record):
    """The supporter's answer."""

    text: str
    backend: str = ""
    model: str = ""
    timings: Timings = Field(default_factory=Timings)
    fallback: bool = False
    """True when the text is a safe fallback because the model failed."""
    regenerated: bool = False
    """True when the first attempt copied an earlier reply and this one was generated again."""
    blocked: str | None = None
    """Set when the model's reply failed the reply screen and a safe one replaced it: what it was
    blocked for (method, lethal_dose, encouragement, ...). The blocked text is never stored."""
    error: str | None = None


# --------------------------------------------------------------------------- turn


class Turn(Record):
    """One exchange: everything the pipeline saw, decided and said."""

    id: str = Field(default_factory=new_id)
    session_id: str
    index: int
    created_at: datetime = Field(default_factory=_now)
    observation: Observation
    perception: Perception
    safety: SafetyCheck
    plan: Plan | None = None
    guidance: str | None = None
    """The guidance note appended to the person's message in the reply prompt (None in a crisis)."""
    history_start: int = 0
    """Index of the oldest past turn in this turn's reply prompt; the turns before it were summarised."""
    summary: str | None = None
    """The summary of those older turns, sent with this message when the history window moved on it."""
    reply: Reply
    stage_seconds: dict[str, float] = Field(default_factory=dict)


# --------------------------------------------------------------------------- datasets

Speaker = Literal["seeker", "supporter"]


class Utterance(Record):
    """One utterance of a dataset dialogue, labels in both the dataset's and canonical form."""

    speaker: Speaker
    text: str
    emotion: str | None = None
    """Canonical emotion, when the dataset labels this utterance."""
    raw_emotion: str | None = None
    strategy: str | None = None
    """Canonical strategy spelling in the dialogue's taxonomy."""
    cues: str | None = None
    """Audio/video cue description carried by the dataset (MESC JSON layout)."""
    meta: dict[str, Any] = Field(default_factory=dict)


class Dialogue(Record):
    """A conversation from a dataset, with its metadata."""

    id: str
    dataset: str
    split: str | None = None
    taxonomy: Literal["esconv", "mesc"] | None = None
    utterances: list[Utterance]
    emotion: str | None = None
    """Dialogue-level canonical emotion (e.g. ESConv emotion_type mapped)."""
    raw_emotion: str | None = None
    problem: str | None = None
    situation: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


# --------------------------------------------------------------------------- planning input


class PlanContext(Record):
    """What a planner sees: the dialogue so far, ending with the seeker's latest message.

    Scoring every supporter utterance (the published ESConv protocol) also plans mid-reply: the
    context then ends with the supporter's utterances so far in answer to that message (`reply`).
    Built the same way from a dataset dialogue (training, evaluation) and from live turns, so
    trained predictors see identical inputs in both.
    """

    utterances: list[Utterance]
    taxonomy: Literal["esconv", "mesc"] = "esconv"
    perception: Perception | None = None
    situation: str | None = None
    """Optional background (e.g. ESConv's situation, or a long-term memory summary)."""

    @property
    def message(self) -> str:
        """The seeker's latest message (consecutive seeker utterances joined)."""
        tail: list[str] = []
        for utterance in reversed(self.utterances):
            if utterance.speaker != "seeker":
                break
            tail.append(utterance.text)
        return " ".join(reversed(tail))

    @property
    def reply(self) -> list[Utterance]:
        """The supporter's utterances after the seeker's latest message (empty when planning a first reply)."""
        start = len(self.utterances)
        while start > 0 and self.utterances[start - 1].speaker == "supporter":
            start -= 1
        return self.utterances[start:]

    @property
    def answered(self) -> PlanContext:
        """This context up to the seeker's latest message (itself when it ends there)."""
        if not self.reply:
            return self
        return self.model_copy(update={"utterances": self.utterances[: len(self.utterances) - len(self.reply)]})
