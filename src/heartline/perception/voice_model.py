"""The voice-emotion classifier: a softmax head (`heartline.heads.Head`) over voice features.

The head directory holds `weights.safetensors` (standardisation and temperature folded into
the weights), `config.json` (classes, the feature sets read, the prosody norms used for cue
sentences, training settings), `metrics.json` and `MODEL_CARD.md`. The shipped model is
`perception/data/voice-emotion/`, trained by `heartline train voice-emotion`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from heartline.errors import ModelError
from heartline.heads import Head
from heartline.labels import EMOTIONS, RAVDESS_EMOTION_MAP
from heartline.perception.prosody import MEASURES, Norms, VoiceNorms

RAVDESS_CLASSES: tuple[str, ...] = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")

CIRCUMPLEX: dict[str, tuple[float, float]] = {
    "neutral": (0.0, 0.0), "calm": (-0.5, 0.3), "happy": (0.5, 0.8), "sad": (-0.5, -0.7),
    "angry": (0.8, -0.6), "fearful": (0.7, -0.6), "disgust": (0.3, -0.7), "surprised": (0.8, 0.3),
}  # fmt: skip
"""(arousal, valence) of each class on Russell's circumplex, as placed in the affect literature;
arousal/valence of a voice are the expectation of these under the class distribution."""

FEATURES = "voice"
"""The `features` tag in the head's config (checked on load)."""


def shipped_dir() -> Path:
    return Path(str(resources.files("heartline.perception") / "data" / "voice-emotion"))


@dataclass
class VoiceEmotionModel:
    head: Head
    feature_sets: tuple[str, ...]
    """Feature blocks the head reads, in order: "egemaps" (88), "whisper" (encoder mean+std)."""
    norms: VoiceNorms

    @property
    def classes(self) -> tuple[str, ...]:
        return self.head.labels

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities (n×k) for feature rows (n×d)."""
        return self.head.proba(np.atleast_2d(features))

    def canonical(self, probs: np.ndarray) -> dict[str, float]:
        """A class distribution mapped onto the canonical emotions (calm counts as neutral)."""
        out = dict.fromkeys(EMOTIONS, 0.0)
        for cls, p in zip(self.classes, probs):
            out[RAVDESS_EMOTION_MAP[cls]] += float(p)
        return out

    def arousal_valence(self, probs: np.ndarray) -> tuple[float, float]:
        arousal = sum(float(p) * CIRCUMPLEX[c][0] for c, p in zip(self.classes, probs))
        valence = sum(float(p) * CIRCUMPLEX[c][1] for c, p in zip(self.classes, probs))
        return arousal, valence

    @classmethod
    def load(cls, directory: Path | None = None) -> VoiceEmotionModel:
        """A trained model directory; without one, the model shipped in the package."""
        directory = directory or shipped_dir()
        head = Head.load(directory)
        config = head.config
        if config.get("features") != FEATURES or "norms" not in config:
            raise ModelError(f"{directory} is not a voice-emotion model",
                             hint="train one with `heartline train voice-emotion`")  # fmt: skip
        unknown = set(head.labels) - set(CIRCUMPLEX)
        if unknown:
            raise ModelError(f"{directory}: unknown voice classes {sorted(unknown)}",
                             hint=f"voice classes are {list(RAVDESS_CLASSES)}")  # fmt: skip

        def norms(raw: dict[str, list[float]]) -> Norms:
            return {name: (float(raw[name][0]), float(raw[name][1])) for name in MEASURES}

        return cls(
            head=head,
            feature_sets=tuple(config["feature_sets"]),
            norms=VoiceNorms(low=norms(config["norms"]["low"]), high=norms(config["norms"]["high"])),
        )


def fold_standardisation(head: Head, mean: np.ndarray, scale: np.ndarray, temperature: float) -> Head:
    """A head on raw features equal to `head` on (x - mean) / scale with logits / temperature."""
    (w, b), *rest = head.layers
    w_raw = w / scale[:, None]
    b_raw = b - (mean / scale) @ w
    layers = [(w_raw, b_raw), *rest]
    (w_last, b_last) = layers[-1]
    layers[-1] = (w_last / temperature, b_last / temperature)
    return Head(labels=head.labels, layers=[(w.astype(np.float32), b.astype(np.float32)) for w, b in layers],
                config=head.config)  # fmt: skip
