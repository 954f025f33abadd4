"""Decoding audio, video and images into arrays, in memory, with size and duration limits.

One dependency (PyAV, FFmpeg's libraries) reads every container and codec we accept: audio
WAV/FLAC/OGG-Opus/MP3/WebM at any rate and channel count becomes 16 kHz mono float32; video
MP4/WebM/AVI becomes RGB frames sampled at a chosen rate; images become one RGB array.
Nothing is written to disk. Unreadable, corrupt or oversized input raises `MediaError`.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from heartline.errors import MediaError
from heartline.schema import Media

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
"""Rate of every decoded audio signal (what VAD, ASR and prosody expect)."""


@dataclass(frozen=True)
class MediaLimits:
    """Largest input accepted. Longer or bigger input is refused, not truncated."""

    max_bytes: int = 100_000_000
    max_seconds: float = 300.0
    max_side: int = 640
    """Video frames and images are scaled down so that their longer side is at most this."""


@dataclass
class Frame:
    """One RGB video frame (H×W×3 uint8) and its time in seconds from the start."""

    time: float
    rgb: np.ndarray


@dataclass
class Video:
    """Frames sampled from a video at `fps` (or every frame when the video is slower)."""

    frames: list[Frame]
    fps: float
    duration: float
    has_audio: bool = False
    source_size: tuple[int, int] = (0, 0)
    """Width and height of the original frames."""


def _open_source(media: Media | Path | str | bytes, limits: MediaLimits) -> tuple[str | BinaryIO, str]:
    """The thing to hand to `av.open`, and a name for messages; checks the size limit."""
    if isinstance(media, Media):
        if media.data is not None:
            return _open_source(media.data, limits)
        if media.path is None:
            raise MediaError(f"the {media.kind} has neither a path nor data", hint="give a file path or bytes")
        media = media.path
    if isinstance(media, bytes):
        if len(media) > limits.max_bytes:
            raise _too_big("in-memory media", len(media), limits)
        return io.BytesIO(media), "in-memory media"
    path = Path(media)
    if not path.is_file():
        raise MediaError(f"{path}: no such file", hint="check the path")
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise _too_big(str(path), size, limits)
    if size == 0:
        raise MediaError(f"{path}: the file is empty", hint="record or export it again")
    return str(path), str(path)


def _too_big(name: str, size: int, limits: MediaLimits) -> MediaError:
    return MediaError(
        f"{name} is {size / 1e6:.1f} MB, over the {limits.max_bytes / 1e6:.0f} MB limit",
        hint="send a shorter recording, or raise HEARTLINE_PERCEPTION__MAX_MEDIA_BYTES",
    )


def _too_long(name: str, seconds: float, limits: MediaLimits) -> MediaError:
    return MediaError(
        f"{name} runs over {seconds:.0f} s, beyond the {limits.max_seconds:.0f} s limit",
        hint="send a shorter recording, or raise HEARTLINE_PERCEPTION__MAX_MEDIA_SECONDS",
    )


def _open_container(source: str | BinaryIO, name: str, what: str = "audio/video") -> Any:
    import av

    try:
        return av.open(source, mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        accepted = "JPEG, PNG, BMP, WebP" if what == "image" else \
            "WAV, FLAC, OGG/Opus, MP3, WebM, MP4, AVI, JPEG, PNG"
        raise MediaError(
            f"{name}: cannot read this file ({exc})",
            hint=f"the file is corrupt or not {'an image' if what == 'image' else what}; accepted: {accepted}",
        ) from exc


def _decode_errors() -> tuple[type[BaseException], ...]:
    import av

    return (av.error.FFmpegError, ValueError)


def decode_audio(media: Media | Path | str | bytes, limits: MediaLimits = MediaLimits()) -> np.ndarray:
    """The first audio stream as 16 kHz mono float32 in [-1, 1].

    A `Media` that already carries `samples` (1-D, or samples×channels) at `sample_rate` is
    mixed down and resampled without touching any file.
    """
    if isinstance(media, Media) and media.samples is not None:
        return resample(np.asarray(media.samples), media.sample_rate or SAMPLE_RATE, limits)
    import av

    source, name = _open_source(media, limits)
    with _open_container(source, name) as container:
        if not container.streams.audio:
            raise MediaError(f"{name}: has no audio track", hint="send a recording with sound")
        stream = container.streams.audio[0]
        # Keep the channels through resampling and average them here: FFmpeg's own downmix
        # adds channels at -3 dB each, which would make stereo recordings seem louder.
        resampler = av.AudioResampler(format="fltp", rate=SAMPLE_RATE)
        chunks: list[np.ndarray] = []
        total = 0
        limit = int(limits.max_seconds * SAMPLE_RATE)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().mean(axis=0)
                    chunks.append(chunk)
                    total += chunk.size
                if total > limit:
                    raise _too_long(name, total / SAMPLE_RATE, limits)
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().mean(axis=0))
        except _decode_errors() as exc:
            raise MediaError(f"{name}: the audio is corrupt ({exc})", hint="record or export it again") from exc
    if not chunks:
        raise MediaError(f"{name}: the audio track holds no samples", hint="record or export it again")
    return np.clip(np.concatenate(chunks).astype(np.float32, copy=False), -1.0, 1.0)


def resample(samples: np.ndarray, rate: int, limits: MediaLimits = MediaLimits()) -> np.ndarray:
    """Mix `samples` (n, or n×channels; int or float) down to mono and resample to 16 kHz."""
    import av

    if np.issubdtype(samples.dtype, np.integer):
        samples = samples.astype(np.float32) / float(np.iinfo(samples.dtype).max)
    samples = samples.astype(np.float32, copy=False)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if samples.ndim != 1:
        raise MediaError(f"audio samples have shape {samples.shape}", hint="give a 1-D or samples×channels array")
    if samples.size / rate > limits.max_seconds:
        raise _too_long("the audio", samples.size / rate, limits)
    if rate == SAMPLE_RATE or samples.size == 0:
        return samples
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    parts = [f.to_ndarray().reshape(-1) for f in (*resampler.resample(frame), *resampler.resample(None))]
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def _scaled(frame: Any, max_side: int) -> np.ndarray:
    width, height = frame.width, frame.height
    scale = min(1.0, max_side / max(width, height))
    if scale < 1.0:
        width, height = max(2, int(width * scale)) // 2 * 2, max(2, int(height * scale)) // 2 * 2
        return frame.to_ndarray(format="rgb24", width=width, height=height)
    return frame.to_ndarray(format="rgb24")


def _sampled_frames(container: Any, name: str, fps: float, limits: MediaLimits,
                    what: str = "video") -> Iterator[Frame]:
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    next_time = 0.0
    step = 1.0 / fps
    try:
        for frame in container.decode(stream):
            time = float(frame.time) if frame.time is not None else next_time
            if time > limits.max_seconds:
                raise _too_long(name, time, limits)
            if time + 1e-6 < next_time:
                continue
            next_time = (np.floor(time / step + 1e-6) + 1) * step
            yield Frame(time=time, rgb=_scaled(frame, limits.max_side))
    except _decode_errors() as exc:
        if what == "image":
            raise MediaError(f"{name}: not a readable image (corrupt, or not a picture at all: {exc})",
                             hint="send a JPEG or PNG photo") from exc
        raise MediaError(f"{name}: the video is corrupt ({exc})", hint="record or export it again") from exc


def decode_video(media: Media | Path | str | bytes, fps: float = 4.0, limits: MediaLimits = MediaLimits()) -> Video:
    """Frames sampled at most `fps` per second. A `Media` with `samples` (a list of RGB arrays,
    `sample_rate` frames per second) is taken as already-decoded frames."""
    if isinstance(media, Media) and media.samples is not None:
        rate = float(media.sample_rate or fps)
        every = max(1, round(rate / fps))
        frames = [Frame(i / rate, np.asarray(f)) for i, f in enumerate(media.samples) if i % every == 0]
        size = (frames[0].rgb.shape[1], frames[0].rgb.shape[0]) if frames else (0, 0)
        return Video(frames=frames, fps=rate / every, duration=len(media.samples) / rate, source_size=size)
    source, name = _open_source(media, limits)
    with _open_container(source, name) as container:
        if not container.streams.video:
            raise MediaError(f"{name}: has no video track", hint="send a video file (MP4, WebM, AVI)")
        context = container.streams.video[0].codec_context
        size = (context.width, context.height)
        has_audio = bool(container.streams.audio)
        frames = list(_sampled_frames(container, name, fps, limits))
    if not frames:
        raise MediaError(f"{name}: the video holds no frames", hint="record or export it again")
    step = frames[1].time - frames[0].time if len(frames) > 1 else 1.0 / fps
    return Video(frames=frames, fps=fps, duration=frames[-1].time + step, has_audio=has_audio, source_size=size)


def has_audio_track(media: Media | Path | str | bytes, limits: MediaLimits = MediaLimits()) -> bool:
    """Whether a container (e.g. a filmed turn) carries sound."""
    if isinstance(media, Media) and media.samples is not None:
        return False
    source, name = _open_source(media, limits)
    with _open_container(source, name) as container:
        return bool(container.streams.audio)


def decode_image(media: Media | Path | str | bytes, limits: MediaLimits = MediaLimits()) -> np.ndarray:
    """An image (JPEG, PNG, BMP, WebP, ...) or the first frame of a video, as H×W×3 RGB uint8."""
    if isinstance(media, Media) and media.samples is not None:
        image = np.asarray(media.samples)
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        if image.ndim != 3 or image.shape[2] not in (3, 4):
            raise MediaError(f"image array has shape {image.shape}", hint="give H×W, H×W×3 or H×W×4 pixels")
        return np.ascontiguousarray(image[:, :, :3]).astype(np.uint8, copy=False)
    source, name = _open_source(media, limits)
    with _open_container(source, name, what="image") as container:
        if not container.streams.video:
            raise MediaError(f"{name}: holds no picture", hint="send a JPEG or PNG file")
        for frame in _sampled_frames(container, name, 1.0, limits, what="image"):
            return frame.rgb
    raise MediaError(f"{name}: holds no picture", hint="send a JPEG or PNG file")
