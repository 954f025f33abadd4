"""Speech recognition with Whisper (CTranslate2 through faster-whisper, int8 on CPU).

The same encoder also yields an utterance embedding (mean and spread of its last layer over
the audio), which the voice-emotion classifier reads alongside the prosody features.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from heartline.errors import ModelError
from heartline.perception.media import SAMPLE_RATE

log = logging.getLogger(__name__)

NO_SPEECH_PROB = 0.6
"""A Whisper segment more likely silence than this, and poorly decoded, is dropped."""
MIN_AVG_LOGPROB = -1.0


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    confidence: float
    """Mean per-token probability of the kept segments, 0 when nothing was said."""


class Whisper:
    """A Whisper model directory in CTranslate2 format (model.bin, config.json, tokenizer)."""

    def __init__(self, model_dir: Path, language: str | None = "en", threads: int = 0, beam_size: int = 1) -> None:
        from faster_whisper import WhisperModel

        if not (model_dir / "model.bin").is_file():
            raise ModelError(
                f"{model_dir} holds no CTranslate2 Whisper model (model.bin)",
                hint="run `heartline models fetch whisper-base`, or point to a faster-whisper model directory",
            )
        self.model = WhisperModel(
            str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads or os.cpu_count() or 1
        )
        self.language = language
        self.beam_size = beam_size

    def transcribe(self, samples: np.ndarray) -> Transcript:
        """The words in 16 kHz mono audio. Give it speech only (cut by VAD): Whisper invents
        words for silence and noise, which is why segments it thinks are silence are dropped."""
        segments, info = self.model.transcribe(
            samples,
            language=self.language,
            beam_size=self.beam_size,
            condition_on_previous_text=False,
            vad_filter=False,
            without_timestamps=True,
        )
        texts: list[str] = []
        logprobs: list[float] = []
        for segment in segments:
            if segment.no_speech_prob > NO_SPEECH_PROB and segment.avg_logprob < MIN_AVG_LOGPROB:
                log.debug("dropped a segment Whisper deems silence: %r", segment.text)
                continue
            texts.append(segment.text.strip())
            logprobs.append(segment.avg_logprob)
        text = " ".join(t for t in texts if t)
        confidence = float(np.exp(np.mean(logprobs))) if logprobs else 0.0
        return Transcript(text=text, language=info.language, confidence=confidence)

    def embed(self, samples: np.ndarray) -> np.ndarray:
        """Mean and standard deviation of the encoder's last layer over the audio (2×d floats).

        The encoder runs on the audio's own length (not padded to 30 s), which is ~30× faster."""
        max_samples = 30 * SAMPLE_RATE
        features = self.model.feature_extractor(samples[:max_samples])
        hidden = np.asarray(self.model.encode(features))[0]
        return np.concatenate([hidden.mean(axis=0), hidden.std(axis=0)]).astype(np.float32)
