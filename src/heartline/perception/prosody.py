"""Prosody: openSMILE's eGeMAPSv02 functionals, the measures people hear, and a cue sentence.

The 88 eGeMAPS functionals feed the voice-emotion classifier. Seven of them are what a
listener notices (pitch level and range, loudness, speech rate, pauses, voice quality); they
are compared with the norms of the classifier's training voices to say what stands out,
e.g. "quiet, slow, low-pitched voice with long pauses".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from heartline.perception.media import SAMPLE_RATE

log = logging.getLogger(__name__)

MEASURES: dict[str, str] = {
    "pitch": "F0semitoneFrom27.5Hz_sma3nz_percentile50.0",
    "pitch_range": "F0semitoneFrom27.5Hz_sma3nz_pctlrange0-2",
    "loudness": "loudness_sma3_amean",
    "rate": "VoicedSegmentsPerSec",
    "pauses": "MeanUnvoicedSegmentLength",
    "jitter": "jitterLocal_sma3nz_amean",
    "hnr": "HNRdBACF_sma3nz_amean",
}
"""Listener-level measures and the eGeMAPS functional each is read from. Pitch is in
semitones above 27.5 Hz, loudness in sones, rate in voiced stretches per second (close to
syllables per second), pauses in seconds, jitter as a fraction, HNR in dB."""

Norms = dict[str, tuple[float, float]]
"""Per measure: the typical value and the spread (median and interquartile half-range)."""

_WORDS: dict[str, tuple[str, str]] = {
    "loudness": ("quiet", "loud"),
    "rate": ("slow", "fast"),
    "pitch": ("low-pitched", "high-pitched"),
    "pitch_range": ("flat", "animated"),
}
STANDOUT = 2.0
"""A measure stands out when it is this many spreads (interquartile half-ranges, about 0.67
standard deviations) from the norm: roughly the outer 9% on each side."""


def hz(semitones: float) -> float:
    """Pitch in Hz from eGeMAPS's semitones above 27.5 Hz."""
    return 27.5 * 2.0 ** (semitones / 12.0)


class Prosody:
    """eGeMAPSv02 functionals of 16 kHz mono speech."""

    def __init__(self) -> None:
        import opensmile

        self.smile = opensmile.Smile(
            feature_set=opensmile.FeatureSet.eGeMAPSv02,
            feature_level=opensmile.FeatureLevel.Functionals,
        )
        self.names: list[str] = list(self.smile.feature_names)
        self._index = {name: self.names.index(column) for name, column in MEASURES.items()}

    def features(self, samples: np.ndarray) -> np.ndarray:
        """The 88 functionals (NaN-free: undefined ones, e.g. pitch of whispering, are 0)."""
        values = self.smile.process_signal(samples, SAMPLE_RATE).to_numpy()[0]
        return np.nan_to_num(values.astype(np.float32))

    def measures(self, features: np.ndarray) -> dict[str, float]:
        """The listener-level measures out of a functionals vector."""
        return {name: float(features[i]) for name, i in self._index.items()}


@dataclass(frozen=True)
class VoiceNorms:
    """Norms of the measures for lower and higher voices (pitch norms differ most)."""

    low: Norms
    high: Norms

    def for_pitch(self, semitones: float) -> Norms:
        """The register whose typical pitch is nearer to this voice's."""
        if abs(semitones - self.low["pitch"][0]) <= abs(semitones - self.high["pitch"][0]):
            return self.low
        return self.high


def norms_from(measures: list[dict[str, float]]) -> Norms:
    """Median and interquartile half-range of each measure."""
    out: Norms = {}
    for name in MEASURES:
        values = np.array([m[name] for m in measures])
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        out[name] = (float(median), float(max((q3 - q1) / 2.0, 1e-6)))
    return out


def describe(measures: dict[str, float], norms: VoiceNorms) -> str:
    """What stands out in a voice, as a short phrase ("quiet, slow voice with long pauses")."""
    ref = norms.for_pitch(measures["pitch"])
    z = {name: (measures[name] - ref[name][0]) / ref[name][1] for name in MEASURES}
    voiced = measures["pitch"] > 0
    adjectives = [
        words[0] if z[name] <= -STANDOUT else words[1]
        for name, words in _WORDS.items()
        if abs(z[name]) >= STANDOUT and (voiced or not name.startswith("pitch"))
    ]
    extras: list[str] = []
    if z["pauses"] >= STANDOUT:
        extras.append("long pauses")
    if z["jitter"] >= STANDOUT or z["hnr"] <= -STANDOUT:
        extras.append("a shaky or breathy quality")
    if not adjectives and not extras:
        return "steady, unremarkable voice"
    text = (", ".join(adjectives) + " voice") if adjectives else "voice"
    if extras:
        text += " with " + " and ".join(extras)
    return text
