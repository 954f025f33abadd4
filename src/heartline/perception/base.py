"""Perception seams: what the `Perceiver` needs from a text, voice and face model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from heartline.schema import EmotionEstimate, PlanContext

if TYPE_CHECKING:
    from heartline.perception.face import FaceReading
    from heartline.perception.media import Frame
    from heartline.perception.voice import VoiceReading


@runtime_checkable
class TextEmotionModel(Protocol):
    """Emotion of the seeker's latest message, aware of the dialogue before it."""

    def recognize(self, context: PlanContext) -> EmotionEstimate: ...


@runtime_checkable
class VoiceReader(Protocol):
    """Words, emotion and prosody of one utterance of 16 kHz mono audio."""

    def read(self, samples: np.ndarray, transcribe: bool = True) -> VoiceReading: ...


@runtime_checkable
class FaceReader(Protocol):
    """Facial expression of the main face over sampled video frames."""

    def read_frames(self, frames: list[Frame]) -> FaceReading: ...
