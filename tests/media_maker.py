"""Media the tests make themselves: files written from `heartline.perception.synth`, pictures."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from heartline.perception import synth

AUDIO_FORMATS = tuple(f".{name}" for name in synth.AUDIO_FORMATS)
VIDEO_FORMATS = tuple(f".{name}" for name in synth.VIDEO_FORMATS)


def tone(seconds: float, rate: int, freq: float = 440.0, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_audio(path: Path, samples: np.ndarray, rate: int, channels: int = 1) -> Path:
    path.write_bytes(synth.encode_audio(samples, rate, path.suffix[1:], channels))
    return path


def write_video(path: Path, frames: list[np.ndarray], fps: int = 10, audio: np.ndarray | None = None,
                audio_rate: int = 48_000) -> Path:  # fmt: skip
    path.write_bytes(synth.encode_video(frames, fps, audio, audio_rate, path.suffix[1:]))
    return path


def speak(text: str, speed: int = 150) -> np.ndarray:
    """16 kHz speech of `text` from espeak-ng (skips the test when espeak-ng is missing)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    return synth.speak(text, speed)


def face_photo() -> np.ndarray:
    """scikit-image's astronaut photo (one smiling frontal face), RGB 512×512."""
    from skimage import data

    return data.astronaut()


def no_face_picture(width: int = 320, height: int = 240) -> np.ndarray:
    """A drawn picture with shapes but no face."""
    image = np.full((height, width, 3), 180, np.uint8)
    image[40:120, 30:150] = (200, 60, 60)
    image[130:220, 180:300] = (40, 90, 200)
    return image
