"""Perception seams: a text emotion model, and analysers for other modalities."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from heartline.schema import EmotionEstimate, Observation, PlanContext


@runtime_checkable
class TextEmotionModel(Protocol):
    """Emotion of the seeker's latest message, aware of the dialogue before it."""

    def recognize(self, context: PlanContext) -> EmotionEstimate: ...


@runtime_checkable
class ModalityAnalyzer(Protocol):
    """Reads one non-text modality of an observation (voice, face)."""

    modality: str

    def analyze(self, observation: Observation) -> ModalityReading | None:
        """None when the observation lacks this modality."""
        ...


class ModalityReading(Protocol):
    estimate: EmotionEstimate
    cues: str
    transcript: str | None
