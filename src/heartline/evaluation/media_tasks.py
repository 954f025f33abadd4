"""Batch classifiers for the media tasks of `heartline eval run`: voice and face emotion.

Each classifier takes a batch of labelled `MediaSample`s and returns one `MediaResult` per
sample, in one process (models loaded once). Predictions use canonical emotion names; the
gold label is the sample's canonical emotion.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from heartline.datasets import MediaSample
from heartline.errors import HeartlineError, MediaError
from heartline.labels import EMOTIONS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MediaResult:
    label: str
    """Canonical emotion."""
    confidence: float
    note: str | None = None
    raw: str | None = None
    """The classifier's own class where it has its own label set (RAVDESS's 8 for voices)."""

    def gold(self, sample: MediaSample) -> str | None:
        return sample.emotion


class MediaClassifier(Protocol):
    info: dict[str, Any]

    def __call__(self, samples: Sequence[MediaSample]) -> list[MediaResult]: ...


@dataclass
class FaceCropClassifier:
    """The FER2013 expression model on each image as a whole.

    FER2013 images are already aligned 48×48 face crops, so they go to the expression model
    directly (face detection, which the live path runs on camera frames first, would only
    add misses on such tight crops). Unreadable images are reported, not fatal.
    """

    model_name: str = "fer-emotion"
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from heartline.evaluation.provenance import catalogue_model
        from heartline.models import ensure
        from heartline.perception.face import ExpressionModel, find_files

        model_file, _ = find_files(ensure(self.model_name))
        self._model = ExpressionModel(model_file)
        self.info = {**catalogue_model(self.model_name), "input": "whole image as the face crop"}

    def __call__(self, samples: Sequence[MediaSample]) -> list[MediaResult]:
        import cv2

        from heartline.perception.media import decode_image

        results: list[MediaResult] = []
        for sample in samples:
            try:
                grey = cv2.cvtColor(decode_image(sample.path), cv2.COLOR_RGB2GRAY)
            except MediaError as exc:
                results.append(MediaResult("neutral", 0.0, f"unreadable: {exc}"))
                continue
            probs = self._model.predict([grey])[0]
            index = int(np.argmax(probs))
            results.append(MediaResult(EMOTIONS[index], float(probs[index])))
        return results


@dataclass
class VoiceClassifier:
    """The live voice path on each clip: decode -> VAD -> features -> voice-emotion model.

    Predictions carry both the canonical emotion and the model's own class (RAVDESS's 8,
    e.g. 'calm'); a clip where no speech is heard is predicted 'neutral' / 'none' and noted.
    """

    settings: Any = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from heartline.config import Settings
        from heartline.perception import factory

        perception = self.settings or Settings().perception
        self._analyzer = factory.load_voice(perception)
        self.info = {"voice_model": str(perception.voice_model or "shipped"),
                     "classes": list(self._analyzer.model.classes), "asr": perception.asr_model}

    def __call__(self, samples: Sequence[MediaSample]) -> list[MediaResult]:
        from heartline.perception.media import decode_audio

        results: list[MediaResult] = []
        for sample in samples:
            try:
                reading = self._analyzer.read(decode_audio(sample.path), transcribe=False)
            except MediaError as exc:
                results.append(MediaResult("neutral", 0.0, f"unreadable: {exc}", "none"))
                continue
            if reading.estimate is None:
                results.append(MediaResult("neutral", 0.0, "no speech heard", "none"))
                continue
            results.append(MediaResult(reading.estimate.label, reading.estimate.confidence, None, reading.top_class))
        return results


def media_classifier(task: str) -> MediaClassifier:
    """The batch classifier of a media task."""
    if task == "face-emotion":
        return FaceCropClassifier()
    if task == "voice-emotion":
        return VoiceClassifier()
    raise HeartlineError(f"no media classifier for task {task!r}", hint="voice-emotion or face-emotion")
