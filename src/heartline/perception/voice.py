"""The voice path: speech found by VAD → transcript (Whisper), prosody (eGeMAPS) and
voice emotion (classifier over eGeMAPS + Whisper-encoder features) → one `VoiceReading`."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from heartline.perception.asr import Transcript, Whisper
from heartline.perception.media import SAMPLE_RATE
from heartline.perception.prosody import Prosody, describe, hz
from heartline.perception.vad import Segment, SileroVAD
from heartline.perception.voice_model import VoiceEmotionModel
from heartline.schema import EmotionEstimate

log = logging.getLogger(__name__)

MIN_CONFIDENT_SPEECH_S = 1.5
"""Shorter speech than this gives a proportionally less confident voice emotion."""
CONTEXT_S = 0.5
"""Seconds around the speech that the Whisper encoder sees for emotion features."""
SOUNDS = {
    "neutral": "neutral", "calm": "calm", "happy": "happy", "sad": "sad", "angry": "angry",
    "fearful": "fearful", "disgust": "disgusted", "surprised": "surprised",
}  # fmt: skip


@dataclass
class VoiceReading:
    """What the voice said and how it sounded; `estimate` is None when no speech was heard."""

    estimate: EmotionEstimate | None
    cues: str
    transcript: Transcript | None
    measures: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    top_class: str = ""
    """The classifier's most probable class (its own labels, e.g. RAVDESS's 'calm')."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Time spent per step (vad, asr, features)."""


def speech_span(samples: np.ndarray, segments: list[Segment], margin: float = 0.0) -> np.ndarray:
    """The audio from the first speech onset to the last offset (pauses inside are kept),
    with up to `margin` seconds of what surrounds it; all of it when no speech was found."""
    if not segments:
        return samples
    start = max(0, int((segments[0].start - margin) * SAMPLE_RATE))
    end = min(len(samples), int((segments[-1].end + margin) * SAMPLE_RATE))
    return samples[start:end]


class VoiceFeaturizer:
    """The classifier's input for an utterance; shared by training and inference."""

    def __init__(self, prosody: Prosody, whisper: Whisper | None) -> None:
        self.prosody = prosody
        self.whisper = whisper

    def features(self, samples: np.ndarray, segments: list[Segment],
                 feature_sets: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """The model's feature row and the eGeMAPS functionals (always computed, for cues).

        Prosody is measured on the speech alone (so pauses are pauses within it); the Whisper
        encoder sees `CONTEXT_S` of what surrounds the speech, which it reads emotion better with."""
        egemaps = self.prosody.features(speech_span(samples, segments))
        blocks: list[np.ndarray] = []
        for name in feature_sets:
            if name == "egemaps":
                blocks.append(egemaps)
            elif name == "whisper":
                if self.whisper is None:
                    raise ValueError("this voice model reads Whisper-encoder features: give a Whisper model")
                blocks.append(self.whisper.embed(speech_span(samples, segments, CONTEXT_S)))
            else:
                raise ValueError(f"unknown voice feature set {name!r}")
        return np.concatenate(blocks), egemaps


class VoiceAnalyzer:
    """Reads 16 kHz mono audio of one utterance."""

    def __init__(self, vad: SileroVAD, whisper: Whisper | None, prosody: Prosody, model: VoiceEmotionModel) -> None:
        self.vad = vad
        self.whisper = whisper
        self.model = model
        self.featurizer = VoiceFeaturizer(prosody, whisper)

    def read(self, samples: np.ndarray, transcribe: bool = True) -> VoiceReading:
        """Transcript (when `transcribe` and a Whisper model is loaded), emotion, cues, measures."""
        seconds: dict[str, float] = {}
        t0 = time.perf_counter()
        segments = self.vad.segments(samples)
        seconds["vad"] = time.perf_counter() - t0
        if not segments:
            return VoiceReading(None, "", Transcript("", "", 0.0) if transcribe else None,
                                {"speech_s": 0.0}, ["no speech heard"], "", seconds)  # fmt: skip
        speech = speech_span(samples, segments)
        transcript = None
        if transcribe and self.whisper is not None:
            t0 = time.perf_counter()
            transcript = self.whisper.transcribe(speech)
            seconds["asr"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        row, egemaps = self.featurizer.features(samples, segments, self.model.feature_sets)
        probs = self.model.probabilities(row)[0]
        seconds["emotion"] = time.perf_counter() - t0

        speech_s = sum(s.duration for s in segments)
        arousal, valence = self.model.arousal_valence(probs)
        sharpness = 1.0 + float(np.sum(probs * np.log(np.clip(probs, 1e-9, 1)))) / np.log(len(probs))
        confidence = float(np.clip(sharpness * min(1.0, speech_s / MIN_CONFIDENT_SPEECH_S), 0.0, 1.0))
        estimate = EmotionEstimate(
            modality="voice",
            distribution=self.model.canonical(probs),
            confidence=confidence,
            source=f"voice-emotion ({'+'.join(self.model.feature_sets)})",
            arousal=float(np.clip(arousal, -1, 1)),
            valence=float(np.clip(valence, -1, 1)),
        )
        measures = self.featurizer.prosody.measures(egemaps)
        top = int(np.argmax(probs))
        cue = describe(measures, self.model.norms)
        if probs[top] >= 0.4:
            cue += f", sounds {SOUNDS.get(self.model.classes[top], self.model.classes[top])}"
        out = {
            "speech_s": round(speech_s, 2),
            "pitch_hz": round(hz(measures["pitch"]), 1) if measures["pitch"] > 0 else 0.0,
            "pitch_range_st": round(measures["pitch_range"], 2),
            "loudness": round(measures["loudness"], 3),
            "rate_per_s": round(measures["rate"], 2),
            "pause_s": round(measures["pauses"], 3),
            "hnr_db": round(measures["hnr"], 2),
        }
        return VoiceReading(estimate, "voice: " + cue, transcript, out, [], self.model.classes[top], seconds)
