"""Media decoding: every accepted container/codec, limits, corrupt input (no models needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av", reason="needs the media extra")
from media_maker import AUDIO_FORMATS, VIDEO_FORMATS, face_photo, tone, write_audio, write_video

from heartline.errors import MediaError
from heartline.perception.media import (
    SAMPLE_RATE,
    MediaLimits,
    decode_audio,
    decode_image,
    decode_video,
    has_audio_track,
)
from heartline.schema import Media


@pytest.mark.parametrize("suffix", sorted(AUDIO_FORMATS))
@pytest.mark.parametrize("channels", [1, 2])
def test_audio_of_any_format_rate_and_channels_becomes_16k_mono(tmp_path: Path, suffix: str, channels: int) -> None:
    path = write_audio(tmp_path / f"tone{suffix}", tone(2.0, 44_100), 44_100, channels)
    samples = decode_audio(path)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) / SAMPLE_RATE - 2.0) < 0.05
    # Channels are averaged, not summed: a 0.3 tone stays about 0.3 whatever the layout.
    assert 0.25 < float(np.abs(samples).max()) < 0.35


def test_audio_from_bytes_and_from_samples(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "tone.webm", tone(1.0, 48_000), 48_000)
    from_bytes = decode_audio(Media(kind="audio", data=path.read_bytes()))
    assert abs(len(from_bytes) - SAMPLE_RATE) < 200
    stereo_int = (np.stack([tone(1.0, 8_000)] * 2, axis=1) * 32767).astype(np.int16)
    from_samples = decode_audio(Media(kind="audio", samples=stereo_int, sample_rate=8_000))
    assert abs(len(from_samples) - SAMPLE_RATE) < 50
    assert 0.25 < float(np.abs(from_samples).max()) < 0.35


def test_raw_media_never_serialises(tmp_path: Path) -> None:
    media = Media(kind="audio", data=b"secret", samples=np.zeros(10), sample_rate=16_000)
    dumped = media.model_dump_json()
    assert "secret" not in dumped and "samples" not in dumped


@pytest.mark.parametrize("suffix", sorted(VIDEO_FORMATS))
def test_video_frames_are_sampled_at_the_requested_rate(tmp_path: Path, suffix: str) -> None:
    frames = [np.full((120, 160, 3), 12 * i, np.uint8) for i in range(20)]
    path = write_video(tmp_path / f"clip{suffix}", frames, fps=10, audio=tone(2.0, 48_000))
    video = decode_video(path, fps=4.0)
    assert 7 <= len(video.frames) <= 9  # 2 s at 4 frames per second
    assert video.frames[0].rgb.shape == (120, 160, 3)
    assert video.has_audio and has_audio_track(path)
    assert abs(len(decode_audio(path)) / SAMPLE_RATE - 2.0) < 0.1


def test_large_frames_are_scaled_down(tmp_path: Path) -> None:
    frames = [np.zeros((720, 1280, 3), np.uint8)] * 3
    path = write_video(tmp_path / "big.mp4", frames, fps=10)
    video = decode_video(path, fps=10, limits=MediaLimits(max_side=320))
    assert max(video.frames[0].rgb.shape[:2]) <= 320
    assert video.source_size == (1280, 720) and not video.has_audio


def test_images(tmp_path: Path) -> None:
    import cv2

    photo = face_photo()
    for suffix in (".png", ".jpg"):
        path = tmp_path / f"face{suffix}"
        cv2.imwrite(str(path), photo[:, :, ::-1])
        image = decode_image(path)
        assert image.shape == (512, 512, 3)
        assert np.abs(image.astype(int) - photo).mean() < 5  # RGB order kept
    grey = decode_image(Media(kind="image", samples=photo[:, :, 0]))
    assert grey.shape == (512, 512, 3)


@pytest.mark.parametrize("content", [b"", b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 20, b"hello, I am text\n" * 50])
def test_corrupt_or_empty_files_raise_media_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.wav"
    path.write_bytes(content)
    with pytest.raises(MediaError) as info:
        decode_audio(path)
    assert info.value.hint


@pytest.mark.parametrize("content", [b"hello, I am text\n" * 50, bytes(range(256)) * 20, b"\xff\xd8\xff\xe0" + b"\x00" * 3000])
@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_an_image_that_is_not_an_image_is_called_one(tmp_path: Path, content: bytes, suffix: str) -> None:
    path = tmp_path / f"photo{suffix}"
    path.write_bytes(content)
    with pytest.raises(MediaError) as info:
        decode_image(path)
    text = str(info.value)
    assert "video" not in text.split("hint:")[0], text
    assert "image" in text or "picture" in text, text
    assert "JPEG" in (info.value.hint or "")


def test_truncated_file_raises_or_decodes_what_is_there(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "tone.mp3", tone(2.0, 44_100), 44_100)
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(path.read_bytes()[:3000])
    try:
        samples = decode_audio(cut)
    except MediaError:
        return
    assert len(samples) < 2 * SAMPLE_RATE


def test_limits(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "long.flac", tone(3.0, 16_000), 16_000)
    with pytest.raises(MediaError, match="limit"):
        decode_audio(path, MediaLimits(max_seconds=1.0))
    with pytest.raises(MediaError, match="MB"):
        decode_audio(path, MediaLimits(max_bytes=1_000))
    with pytest.raises(MediaError, match="limit"):
        decode_audio(Media(kind="audio", samples=tone(3.0, 8_000), sample_rate=8_000), MediaLimits(max_seconds=1.0))


def test_missing_tracks_and_files(tmp_path: Path) -> None:
    silent_video = write_video(tmp_path / "mute.mp4", [np.zeros((64, 64, 3), np.uint8)] * 5)
    with pytest.raises(MediaError, match="no audio track"):
        decode_audio(silent_video)
    sound = write_audio(tmp_path / "tone.wav", tone(0.5, 16_000), 16_000)
    with pytest.raises(MediaError, match="no video track"):
        decode_video(sound)
    with pytest.raises(MediaError, match="no such file"):
        decode_audio(tmp_path / "absent.wav")
