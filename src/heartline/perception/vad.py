"""Voice activity detection with Silero VAD, run through onnxruntime (no torch)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from heartline.errors import ModelError
from heartline.perception.media import SAMPLE_RATE

log = logging.getLogger(__name__)

WINDOW = 512
"""Samples per VAD step at 16 kHz (32 ms)."""
CONTEXT = 64
"""Samples of the previous window the model sees in front of each new one."""


@dataclass(frozen=True)
class Segment:
    """A stretch of speech, in seconds."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class VadSettings:
    threshold: float = 0.5
    """Speech starts when the speech probability reaches this."""
    min_speech_s: float = 0.25
    min_silence_s: float = 0.10
    pad_s: float = 0.03


def find_model_file(path: Path) -> Path:
    """The Silero ONNX file itself, given the file or a directory holding it."""
    if path.is_file():
        return path
    for name in ("silero_vad.onnx", "silero_vad_16k_op15.onnx"):
        found = sorted(path.rglob(name))
        if found:
            return found[0]
    raise ModelError(f"no Silero VAD ONNX file under {path}", hint="run `heartline models fetch silero-vad`")


class SileroVAD:
    """Speech probability every 32 ms, and the speech segments they outline."""

    def __init__(self, model_path: Path, settings: VadSettings = VadSettings()) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(find_model_file(model_path)), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.settings = settings

    def probabilities(self, samples: np.ndarray) -> np.ndarray:
        """Speech probability for each 512-sample window of 16 kHz mono audio."""
        n = len(samples) // WINDOW + (1 if len(samples) % WINDOW else 0)
        padded = np.zeros(n * WINDOW + CONTEXT, np.float32)
        padded[CONTEXT : CONTEXT + len(samples)] = samples
        state = np.zeros((2, 1, 128), np.float32)
        rate = np.array(SAMPLE_RATE, dtype=np.int64)
        probs = np.empty(n, np.float32)
        for i in range(n):
            window = padded[i * WINDOW : (i + 1) * WINDOW + CONTEXT].reshape(1, -1)
            out, state = self.session.run(None, {"input": window, "state": state, "sr": rate})
            probs[i] = out[0, 0]
        return probs

    def segments(self, samples: np.ndarray) -> list[Segment]:
        """Speech segments, following Silero's own hysteresis: start at `threshold`, end after
        `min_silence_s` below `threshold - 0.15`, drop segments shorter than `min_speech_s`."""
        s = self.settings
        probs = self.probabilities(samples)
        step = WINDOW / SAMPLE_RATE
        low = max(s.threshold - 0.15, 0.01)
        found: list[Segment] = []
        start: float | None = None
        silent_since: float | None = None
        for i, p in enumerate(probs):
            t = i * step
            if p >= s.threshold:
                silent_since = None
                if start is None:
                    start = t
            elif start is not None and p < low:
                silent_since = t if silent_since is None else silent_since
                if t + step - silent_since >= s.min_silence_s:
                    found.append(Segment(start, silent_since))
                    start, silent_since = None, None
        if start is not None:
            found.append(Segment(start, len(probs) * step))
        duration = len(samples) / SAMPLE_RATE
        return [
            Segment(max(0.0, seg.start - s.pad_s), min(duration, seg.end + s.pad_s))
            for seg in found
            if seg.duration >= s.min_speech_s
        ]
