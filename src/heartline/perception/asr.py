"""Speech recognition with Whisper (CTranslate2 through faster-whisper, int8 on CPU).

An utterance (under 30 s) is decoded from the encoder run at the audio's own length plus one
second of silence, rather than padded to Whisper's 30 s window (as whisper.cpp's `audio_ctx`
does): on a 5 s turn the encoder, the dominant cost, runs about 6× faster, with the same word
error rate on our synthesised sentences (without the extra second Whisper repeats itself;
text that still loops, by gzip ratio or by repeating a stretch of tokens, is decoded again in
the full window). Under `MIN_FAST_S` of speech the short window is unreliable (cut to its
speech, "Thank you." came out four times and "Take a deep breath." as "Say candy breath"), so
such clips are decoded the standard way, in the full window, as plain faster-whisper does.
The encoder also gives the utterance embedding (mean and spread of its last layer over time,
run at the given audio's own length) that the voice-emotion classifier reads. Longer recordings go
through faster-whisper's windowed `transcribe`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from heartline.errors import ModelError
from heartline.perception.media import SAMPLE_RATE

log = logging.getLogger(__name__)

NO_SPEECH_PROB = 0.6
"""Text Whisper itself deems more likely silence than this, and decodes poorly, is dropped."""
MIN_AVG_LOGPROB = -1.0
WINDOW_S = 30
TAIL_S = 1
"""Seconds of silence after the speech that Whisper decodes (without it, it repeats itself)."""
MAX_COMPRESSION_RATIO = 2.4
"""Text that gzips better than this is a repetition loop (Whisper's own fallback rule): such
an utterance is decoded again the standard way, in the full 30 s window."""
MIN_FAST_S = 2.0
"""Speech shorter than this is decoded in the full 30 s window. On espeak-ng sentences cut by
the VAD: 22 of 36 clips of 0.6-2 s right at their own length, 32 of 36 in the full window; from
2 s up both give the same words, the short window 6× faster."""
TOKENS_PER_S = 8
"""Generation stops after this many tokens per second of audio (+16): no runaway repetition."""


def repeats_itself(tokens: list[int], min_tail: int = 2) -> bool:
    """True when decoding looped: the tokens are one stretch said over and over (the last copy
    perhaps cut short by the length limit), or end in the same stretch of at least `min_tail`
    tokens twice in a row. Too short a text for the gzip rule ("Take a deep breath." three
    times) is caught here; a real repetition ("no, no, no") costs only the slower decode."""
    n = len(tokens)
    for period in range(1, n // 2 + 1):
        if all(tokens[i] == tokens[i - period] for i in range(period, n)):
            return True
        if period >= min_tail and tokens[n - 2 * period : n - period] == tokens[n - period :]:
            return True
    return False


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    confidence: float
    """Geometric-mean token probability, 0 when nothing was said."""


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

    def embed(self, samples: np.ndarray) -> np.ndarray:
        """Mean and standard deviation of the last encoder layer over the first 30 s of audio."""
        features = self.model.feature_extractor(samples[: WINDOW_S * SAMPLE_RATE])
        hidden = np.asarray(self.model.encode(features))[0]
        return np.concatenate([hidden.mean(axis=0), hidden.std(axis=0)]).astype(np.float32)

    def transcribe(self, samples: np.ndarray) -> Transcript:
        """The words in 16 kHz mono audio. Give it speech only (cut by VAD): Whisper invents
        words for silence and noise, which is also why text it deems silence is dropped."""
        if len(samples) + TAIL_S * SAMPLE_RATE > WINDOW_S * SAMPLE_RATE or len(samples) < MIN_FAST_S * SAMPLE_RATE:
            return self._windowed(samples)
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_compression_ratio

        padded = np.concatenate([samples, np.zeros(TAIL_S * SAMPLE_RATE, np.float32)])
        encoded = self.model.encode(self.model.feature_extractor(padded))
        language = self.language or self._detect(encoded)
        tokenizer = Tokenizer(self.model.hf_tokenizer, self.model.model.is_multilingual,
                              task="transcribe", language=language)  # fmt: skip
        prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        result = self.model.model.generate(
            encoded, [prompt], beam_size=self.beam_size, return_scores=True,
            return_no_speech_prob=True, suppress_blank=True, suppress_tokens=[-1],
            max_length=len(prompt) + 16 + int(TOKENS_PER_S * len(samples) / SAMPLE_RATE),
        )[0]  # fmt: skip
        tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        avg_logprob = float(result.scores[0])
        if result.no_speech_prob > NO_SPEECH_PROB and avg_logprob < MIN_AVG_LOGPROB:
            log.debug("dropped text Whisper deems silence: %r", tokenizer.decode(tokens))
            return Transcript("", language, 0.0)
        text = tokenizer.decode(tokens).strip()
        if get_compression_ratio(text) > MAX_COMPRESSION_RATIO or repeats_itself(tokens):
            log.debug("Whisper repeated itself (%r): decoding in the full 30 s window", text)
            return self._windowed(samples)
        return Transcript(text, language, float(np.exp(avg_logprob)) if text else 0.0)

    def _detect(self, encoded: Any) -> str:
        results = self.model.model.detect_language(encoded)[0]
        return results[0][0][2:-2]  # "<|en|>" -> "en"

    def _windowed(self, samples: np.ndarray) -> Transcript:
        segments, info = self.model.transcribe(
            samples, language=self.language, beam_size=self.beam_size,
            condition_on_previous_text=False, vad_filter=False, without_timestamps=True,
        )  # fmt: skip
        kept = [s for s in segments if not (s.no_speech_prob > NO_SPEECH_PROB and s.avg_logprob < MIN_AVG_LOGPROB)]
        text = " ".join(s.text.strip() for s in kept if s.text.strip())
        confidence = float(np.exp(np.mean([s.avg_logprob for s in kept]))) if kept else 0.0
        return Transcript(text, info.language, confidence)
