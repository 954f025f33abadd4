"""Media the tests make themselves: encoded audio/video written with PyAV, speech from espeak-ng."""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

AUDIO_FORMATS = {  # suffix: (container format, codec, sample format)
    ".wav": ("wav", "pcm_s16le", "s16"),
    ".flac": ("flac", "flac", "s16"),
    ".ogg": ("ogg", "libopus", "flt"),
    ".webm": ("webm", "libopus", "flt"),
    ".mp3": ("mp3", "libmp3lame", "fltp"),
}
VIDEO_FORMATS = {".mp4": ("mp4", "libx264"), ".webm": ("webm", "libvpx"), ".avi": ("avi", "mpeg4")}


def tone(seconds: float, rate: int, freq: float = 440.0, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_audio(path: Path, samples: np.ndarray, rate: int, channels: int = 1) -> Path:
    """Encode mono float samples into the container/codec implied by the suffix."""
    import av

    container_format, codec, sample_format = AUDIO_FORMATS[path.suffix]
    layout = "mono" if channels == 1 else "stereo"
    planar = np.repeat(samples[None, :], channels, axis=0).astype(np.float32)
    with av.open(str(path), "w", format=container_format) as container:
        stream_rate = 48_000 if codec == "libopus" else rate  # Opus runs at 48 kHz
        stream = container.add_stream(codec, rate=stream_rate, layout=layout)
        if sample_format == "s16":
            data = (planar.T.reshape(1, -1) * 32767).astype(np.int16)
        elif sample_format == "flt":
            data = np.ascontiguousarray(planar.T.reshape(1, -1))
        else:
            data = planar
        _encode_audio(container, stream, data, sample_format, layout, stream_rate, rate)
    return path


def _encode_audio(container, stream, data: np.ndarray, sample_format: str, layout: str,
                  stream_rate: int, rate: int) -> None:
    """Resample `data` to the stream's format and rate, encode it in codec-sized frames, mux."""
    import av

    resampler = av.AudioResampler(format=stream.codec_context.format.name, layout=layout, rate=stream_rate)
    frame = av.AudioFrame.from_ndarray(data, format=sample_format, layout=layout)
    frame.sample_rate = rate
    fifo = av.AudioFifo()
    for converted in resampler.resample(frame):
        fifo.write(converted)
    for chunk in fifo.read_many(stream.codec_context.frame_size or 1024, partial=True):
        chunk.pts = None
        for packet in stream.encode(chunk):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def write_video(path: Path, frames: list[np.ndarray], fps: int = 10, audio: np.ndarray | None = None,
                audio_rate: int = 48_000) -> Path:
    """Encode RGB frames (even sizes), optionally with a mono sound track."""
    import av

    container_format, codec = VIDEO_FORMATS[path.suffix]
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        sound = None
        if audio is not None:
            sound = container.add_stream("libopus" if path.suffix == ".webm" else "aac", rate=audio_rate, layout="mono")
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
        if sound is not None:
            data = audio.reshape(1, -1).astype(np.float32)
            _encode_audio(container, sound, data, "flt", "mono", audio_rate, audio_rate)
    return path


def speak(text: str, path: Path, speed: int = 150) -> Path:
    """A WAV of espeak-ng saying `text` (skips the test when espeak-ng is missing)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    subprocess.run(["espeak-ng", "-s", str(speed), "-w", str(path), text], check=True, capture_output=True)
    return path


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
