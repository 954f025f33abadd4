"""Media heartline makes itself, for benchmarks and tests: speech from espeak-ng, and audio or
video encoded in memory with PyAV (WAV, FLAC, OGG/Opus, WebM, MP3; MP4, WebM, AVI)."""

from __future__ import annotations

import io
import shutil
import subprocess
from fractions import Fraction
from typing import Any

import numpy as np

from heartline.errors import MediaError
from heartline.perception.media import SAMPLE_RATE, decode_audio

AUDIO_FORMATS: dict[str, tuple[str, str, str]] = {  # name: (container, codec, sample format)
    "wav": ("wav", "pcm_s16le", "s16"),
    "flac": ("flac", "flac", "s16"),
    "ogg": ("ogg", "libopus", "flt"),
    "webm": ("webm", "libopus", "flt"),
    "mp3": ("mp3", "libmp3lame", "fltp"),
}
VIDEO_FORMATS: dict[str, tuple[str, str, str]] = {  # name: (container, video codec, audio codec)
    "mp4": ("mp4", "libx264", "aac"),
    "webm": ("webm", "libvpx", "libopus"),
    "avi": ("avi", "mpeg4", "libmp3lame"),
}


def speak(text: str, speed: int = 150, voice: str = "en-us") -> np.ndarray:
    """`text` spoken by espeak-ng, as 16 kHz mono float32."""
    if shutil.which("espeak-ng") is None:
        raise MediaError("espeak-ng is not installed", hint="apt-get install espeak-ng (or give your own audio)")
    wav = subprocess.run(["espeak-ng", "--stdout", "-v", voice, "-s", str(speed), text],
                         check=True, capture_output=True).stdout  # fmt: skip
    return decode_audio(wav)


def _encode_audio(container: Any, stream: Any, samples: np.ndarray, rate: int, channels: int) -> None:
    """Mono float `samples` at `rate` → the stream's format, layout and rate; encode and mux."""
    import av

    layout = "mono" if channels == 1 else "stereo"
    interleaved = np.repeat(samples.astype(np.float32)[:, None], channels, axis=1).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(interleaved), format="flt", layout=layout)
    frame.sample_rate = rate
    resampler = av.AudioResampler(format=stream.codec_context.format.name, layout=layout, rate=stream.rate)
    fifo = av.AudioFifo()
    for converted in resampler.resample(frame):
        fifo.write(converted)
    for chunk in fifo.read_many(stream.codec_context.frame_size or 1024, partial=True):
        chunk.pts = None
        for packet in stream.encode(chunk):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def _audio_stream(container: Any, codec: str, rate: int, channels: int) -> Any:
    stream_rate = 48_000 if codec == "libopus" else rate  # Opus only runs at 48 kHz here
    return container.add_stream(codec, rate=stream_rate, layout="mono" if channels == 1 else "stereo")


def encode_audio(samples: np.ndarray, rate: int = SAMPLE_RATE, fmt: str = "wav", channels: int = 1) -> bytes:
    """Mono float samples as a file of the given format (see `AUDIO_FORMATS`)."""
    import av

    container_format, codec, _ = AUDIO_FORMATS[fmt]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container_format) as container:
        _encode_audio(container, _audio_stream(container, codec, rate, channels), samples, rate, channels)
    return buffer.getvalue()


def encode_video(frames: list[np.ndarray], fps: int = 25, audio: np.ndarray | None = None,
                 audio_rate: int = SAMPLE_RATE, fmt: str = "mp4") -> bytes:  # fmt: skip
    """RGB frames (even width and height) as a video file, with a mono sound track if given."""
    import av

    container_format, video_codec, audio_codec = VIDEO_FORMATS[fmt]
    height, width = frames[0].shape[:2]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container_format) as container:
        stream = container.add_stream(video_codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        sound = _audio_stream(container, audio_codec, audio_rate, 1) if audio is not None else None
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
        if sound is not None:
            _encode_audio(container, sound, audio, audio_rate, 1)
    return buffer.getvalue()


def moving_face_frames(photo: np.ndarray, seconds: float, fps: int, size: tuple[int, int] = (640, 480)) -> list[np.ndarray]:
    """Frames of `photo` drifting slowly across a grey canvas (a stand-in for a webcam)."""
    width, height = size
    side = min(photo.shape[0], height - 40)
    scaled = photo[:: max(1, photo.shape[0] // side), :: max(1, photo.shape[1] // side)][:side, :side]
    frames = []
    for i in range(int(seconds * fps)):
        canvas = np.full((height, width, 3), 90, np.uint8)
        x = int((width - side) / 2 + 40 * np.sin(i / fps))
        y = (height - side) // 2
        canvas[y : y + scaled.shape[0], x : x + scaled.shape[1]] = scaled
        frames.append(canvas)
    return frames
