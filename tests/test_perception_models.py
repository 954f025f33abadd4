"""The real voice and face models on media the tests make: speech, silence, noise, faces."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("faster_whisper", reason="needs the media extra")
from media_maker import face_photo, no_face_picture, speak, write_audio, write_video

from heartline.config import PerceptionSettings
from heartline.perception import Perceiver, factory
from heartline.perception.face import FaceAnalyzer
from heartline.perception.media import SAMPLE_RATE, Frame
from heartline.perception.voice import VoiceAnalyzer
from heartline.schema import Media, Observation

pytestmark = pytest.mark.slow

SENTENCES = [
    "I have been feeling very tired and sad since my father passed away.",
    "My sister called me this morning and we talked for an hour.",
]


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower().replace("'ve", " have"))


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = words(reference), words(hypothesis)
    d = np.arange(len(hyp) + 1)
    for i, r in enumerate(ref, 1):
        prev, d[0] = d.copy(), i
        for j, h in enumerate(hyp, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (r != h))
    return float(d[len(hyp)]) / len(ref)


@pytest.fixture(scope="module")
def voice() -> VoiceAnalyzer:
    return factory.load_voice(PerceptionSettings())


@pytest.fixture(scope="module")
def face() -> FaceAnalyzer:
    return factory.load_face()


@pytest.mark.parametrize("sentence", SENTENCES)
def test_synthesised_speech_is_transcribed(voice: VoiceAnalyzer, sentence: str) -> None:
    audio = np.concatenate([np.zeros(SAMPLE_RATE // 2, np.float32), speak(sentence), np.zeros(SAMPLE_RATE, np.float32)])
    reading = voice.read(audio)
    assert reading.transcript is not None
    assert word_error_rate(sentence, reading.transcript.text) <= 0.25, reading.transcript.text
    assert reading.estimate is not None and reading.estimate.modality == "voice"
    assert sum(reading.estimate.distribution.values()) == pytest.approx(1.0, abs=1e-4)
    assert reading.cues.startswith("voice: ") and reading.measures["speech_s"] > 2.0
    assert 60 < reading.measures["pitch_hz"] < 300


def test_short_utterances_do_not_loop(voice: VoiceAnalyzer) -> None:
    # Decoded at its own length, this sentence made Whisper repeat itself three times.
    sentence = "Everything feels pointless lately."
    reading = voice.read(np.concatenate([np.zeros(8_000, np.float32), speak(sentence), np.zeros(SAMPLE_RATE, np.float32)]))
    assert reading.transcript is not None
    assert 0 < len(words(reading.transcript.text)) <= len(words(sentence)) + 1, reading.transcript.text


@pytest.mark.parametrize("sentence", ["Take a deep breath.", "Thank you.", "Nobody listens to me."])
@pytest.mark.parametrize("speed", [150, 175])
def test_a_short_clear_sentence_is_transcribed_once(voice: VoiceAnalyzer, sentence: str, speed: int) -> None:
    # Cut to its speech by the VAD, each of these came out two to four times over.
    reading = voice.read(speak(sentence, speed=speed))
    assert reading.transcript is not None
    assert words(reading.transcript.text) == words(sentence), reading.transcript.text


@pytest.mark.parametrize("kind", ["silence", "noise", "hum"])
def test_no_words_are_invented(voice: VoiceAnalyzer, kind: str) -> None:
    rng = np.random.default_rng(1)
    n = 4 * SAMPLE_RATE
    audio = {
        "silence": np.zeros(n, np.float32),
        "noise": rng.normal(0, 0.05, n).astype(np.float32),
        "hum": (0.2 * np.sin(2 * np.pi * 50 * np.arange(n) / SAMPLE_RATE)).astype(np.float32),
    }[kind]
    reading = voice.read(audio)
    assert reading.transcript is not None and reading.transcript.text == ""
    assert reading.estimate is None and reading.notes == ["no speech heard"]


def test_face_photo_shows_one_happy_face(face: FaceAnalyzer) -> None:
    reading = face.read_image(face_photo())
    assert reading.face_frames == 1 and reading.notes == []
    assert max(reading.distribution, key=reading.distribution.get) == "joy"
    assert reading.cues == "face looks happy" and reading.confidence > 0.5


def test_no_face_dark_tiny_and_several_faces(face: FaceAnalyzer) -> None:
    assert face.read_image(no_face_picture()).notes == ["no face found"]
    assert face.read_image(np.full((240, 320, 3), 8, np.uint8)).notes == ["too dark"]
    assert face.read_image(np.full((30, 40, 3), 128, np.uint8)).notes == ["image too small"]
    head = face_photo()[0:256, 96:352]  # the astronaut's head and shoulders
    pair = np.full((300, 640, 3), 90, np.uint8)
    pair[22:278, 30:286] = head
    pair[22:278, 354:610] = head
    reading = face.read_frames([Frame(0.0, pair)])
    assert reading.face_frames == 1 and "several faces; followed the largest" in reading.notes


def test_face_is_followed_through_a_video_with_gaps(face: FaceAnalyzer) -> None:
    frames = [Frame(i / 4, face_photo() if i % 3 else no_face_picture(512, 512)) for i in range(9)]
    reading = face.read_frames(frames)
    assert reading.frames == 9 and reading.face_frames == 6
    assert reading.notes == ["face seen in 6 of 9 frames"]
    assert reading.cues.startswith("face mostly happy")


def test_spoken_and_filmed_turn_end_to_end(tmp_path: Path, voice: VoiceAnalyzer, face: FaceAnalyzer) -> None:
    speech = speak(SENTENCES[0])
    audio = write_audio(tmp_path / "turn.webm", speech, SAMPLE_RATE)  # what browsers record
    frames = [face_photo()[::2, ::2].copy() for _ in range(20)]
    video = write_video(tmp_path / "turn.mp4", frames, fps=10)
    perceiver = Perceiver(voice=voice, face=face)
    perception = perceiver.perceive(
        Observation(audio=Media(kind="audio", path=audio), video=Media(kind="video", path=video)), []
    )
    assert perception.transcript_source == "speech"
    assert word_error_rate(SENTENCES[0], perception.transcript) <= 0.25
    assert set(perception.modalities) == {"voice", "face"}
    assert sum(perception.contributions.values()) == pytest.approx(1.0)
    assert "voice: " in perception.cues and "face mostly happy" in perception.cues
    assert perception.measures["face"]["face_frames"] == perception.measures["face"]["frames"]
    dumped = perception.model_dump_json()
    assert "samples" not in dumped and perception.warnings == []


def test_filmed_turn_hears_its_own_sound_and_typed_text_wins(tmp_path: Path, voice: VoiceAnalyzer,
                                                             face: FaceAnalyzer) -> None:  # fmt: skip
    frames = [face_photo()[::2, ::2].copy() for _ in range(20)]
    video = write_video(tmp_path / "turn.webm", frames, fps=10, audio=speak(SENTENCES[1]), audio_rate=SAMPLE_RATE)
    perceiver = Perceiver(voice=voice, face=face)
    perception = perceiver.perceive(Observation(text="hello there", video=Media(kind="video", path=video)), [])
    assert perception.transcript == "hello there" and perception.transcript_source == "typed"
    assert {"voice", "face"} <= set(perception.modalities), perception.warnings


def test_corrupt_audio_leaves_the_face(tmp_path: Path, voice: VoiceAnalyzer, face: FaceAnalyzer) -> None:
    broken = tmp_path / "broken.ogg"
    broken.write_bytes(b"OggS" + bytes(range(256)) * 4)
    image = tmp_path / "me.png"
    import cv2

    cv2.imwrite(str(image), face_photo()[:, :, ::-1])
    perception = Perceiver(voice=voice, face=face).perceive(
        Observation(audio=Media(kind="audio", path=broken), image=Media(kind="image", path=image)), []
    )
    assert perception.user_emotion == "joy" and set(perception.contributions) == {"face"}
    assert len(perception.warnings) == 1 and perception.warnings[0].startswith("voice: ")


def test_perceive_command_prints_the_perception_as_json(tmp_path: Path) -> None:
    import json

    import cv2
    from typer.testing import CliRunner

    from heartline.cli import _register, app

    _register()
    image = tmp_path / "me.jpg"
    cv2.imwrite(str(image), face_photo()[:, :, ::-1])
    audio = write_audio(tmp_path / "turn.flac", speak(SENTENCES[1]), SAMPLE_RATE)
    result = CliRunner().invoke(app, ["perceive", "--audio", str(audio), "--image", str(image),
                                      "--no-text-model", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    perception = json.loads(result.output)
    assert perception["transcript_source"] == "speech" and "sister" in perception["transcript"].lower()
    assert set(perception["contributions"]) == {"voice", "face"}
    assert perception["modalities"]["face"]["label"] == "joy"
    assert perception["cues"].startswith("voice: ")


@pytest.mark.data
def test_batch_evaluation_on_the_shared_datasets(shared_data: Path, voice: VoiceAnalyzer, face: FaceAnalyzer) -> None:
    from heartline.datasets import read_fer2013, read_ravdess
    from heartline.perception.evaluate import evaluate_face, evaluate_voice

    faces = list(read_fer2013(shared_data / "fer2013"))[::18]  # every class, ~200 images
    result = evaluate_face(faces, face)
    assert result["n"] == len(faces) and result["no_face"] == 0
    assert result["canonical"]["accuracy"] > 0.5  # 65.4% on all of PublicTest
    clips = [s for s in read_ravdess(shared_data / "ravdess") if s.meta["actor"] == "Actor_01"][::10]
    result = evaluate_voice(clips, voice)
    assert result["n"] == len(clips) and result["no_speech"] == 0
    assert set(result["classes"]["per_class_recall"]) >= {"calm", "surprised"}


def test_silent_or_corrupt_film_reports_once(tmp_path: Path, voice: VoiceAnalyzer, face: FaceAnalyzer) -> None:
    perceiver = Perceiver(voice=voice, face=face)
    silent = write_video(tmp_path / "silent.avi", [face_photo()[::2, ::2].copy()] * 10, fps=10)
    perception = perceiver.perceive(Observation(video=Media(kind="video", path=silent)), [])
    assert set(perception.modalities) == {"face"} and perception.warnings == []
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500)
    perception = perceiver.perceive(Observation(text="hi", video=Media(kind="video", path=broken)), [])
    assert perception.transcript == "hi" and perception.modalities == {}
    assert len(perception.warnings) == 1 and perception.warnings[0].startswith("face: ")
