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
    confidence: float
    note: str | None = None

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


def media_classifier(task: str) -> MediaClassifier:
    """The batch classifier of a media task."""
    if task == "face-emotion":
        return FaceCropClassifier()
    if task == "voice-emotion":
        try:
            from heartline.perception.voice import evaluation_classifier  # type: ignore[attr-defined]
        except ImportError as exc:
            raise HeartlineError(
                "the voice-emotion classifier is not available in this installation",
                hint="it comes with heartline's voice perception (issue 4); "
                     "`heartline eval run --task face-emotion` works meanwhile") from exc
        return evaluation_classifier()
    raise HeartlineError(f"no media classifier for task {task!r}", hint="voice-emotion or face-emotion")
