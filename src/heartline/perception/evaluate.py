"""Measure the voice and face paths on labelled media (RAVDESS, FER2013), in one process.

`evaluate_voice` runs the same steps as a live turn (decode → VAD → features → classifier);
`evaluate_face` classifies FER2013's face crops directly (the model's own input), or runs
face detection first with `detect=True` to measure the whole path on larger pictures.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from heartline.config import PerceptionSettings
from heartline.datasets import MediaSample
from heartline.evaluation.classification import classification_report
from heartline.labels import EMOTIONS
from heartline.perception import factory
from heartline.perception.face import FaceAnalyzer
from heartline.perception.media import Frame, decode_audio, decode_image
from heartline.perception.voice import VoiceAnalyzer
from heartline.training.common import progress_bar

log = logging.getLogger(__name__)

NONE = "none"


def report(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """`classification_report` plus per-class recall."""
    out = classification_report(gold, pred, labels)
    confusion = np.array(out["confusion"])
    out["per_class_recall"] = {
        label: float(confusion[i, i] / confusion[i].sum()) if confusion[i].sum() else None
        for i, label in enumerate(labels)
    }
    return out


def evaluate_voice(samples: Iterable[MediaSample], analyzer: VoiceAnalyzer | None = None) -> dict[str, Any]:
    """Accuracy over the classifier's own classes (e.g. RAVDESS's 8, by `raw_emotion`) and over
    the canonical emotions; clips where no speech is heard count as wrong. Without an
    analyzer, the default models are loaded."""
    analyzer = analyzer or factory.load_voice(PerceptionSettings())
    samples = list(samples)
    classes = analyzer.model.classes
    gold_raw, pred_raw, gold, pred = [], [], [], []
    silent = 0
    with progress_bar("voice emotion", len(samples)) as advance:
        for sample in samples:
            reading = analyzer.read(decode_audio(sample.path), transcribe=False)
            if reading.estimate is None:
                silent += 1
                label, raw = "neutral", NONE
            else:
                label, raw = reading.estimate.label, reading.top_class
            gold.append(sample.emotion or "neutral")
            pred.append(label)
            gold_raw.append(sample.raw_emotion)
            pred_raw.append(raw)
            advance(1)
    out: dict[str, Any] = {"n": len(samples), "no_speech": silent, "canonical": report(gold, pred, EMOTIONS)}
    if all(g in classes for g in gold_raw):
        out["classes"] = report(gold_raw, pred_raw, _with_none(classes, pred_raw))
    return out


def _with_none(labels: Sequence[str], pred: Sequence[str]) -> tuple[str, ...]:
    """The label list, plus "none" when some inputs got no prediction (no speech, no face)."""
    return (*labels, NONE) if NONE in pred else tuple(labels)


def evaluate_face(samples: Iterable[MediaSample], analyzer: FaceAnalyzer | None = None,
                  detect: bool = False) -> dict[str, Any]:
    """Accuracy and per-class recall of facial expression over the canonical emotions.

    With `detect=False` each image is taken as a face crop; with `detect=True` the face is
    found first, and images without a detected face count as wrong ("no_face")."""
    import cv2

    analyzer = analyzer or factory.load_face()
    samples = list(samples)
    gold, pred = [], []
    no_face = 0
    with progress_bar("face emotion", len(samples)) as advance:
        for sample in samples:
            rgb = decode_image(sample.path)
            if detect:
                reading = analyzer.read_frames([Frame(0.0, rgb)])
                label = max(reading.distribution, key=reading.distribution.__getitem__) if reading.face_frames else None
            else:
                probs = analyzer.model.predict([cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)])[0]
                label = EMOTIONS[int(np.argmax(probs))]
            no_face += label is None
            gold.append(sample.emotion or "neutral")
            pred.append(label or NONE)
            advance(1)
    result = report(gold, pred, _with_none(EMOTIONS, pred))
    return {"n": len(samples), "no_face": no_face, "detect": detect, "canonical": result}
