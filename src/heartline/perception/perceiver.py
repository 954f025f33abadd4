"""The perception stage: transcript and emotions from whatever modalities a turn carries.

Audio (a recording, or the sound track of a filmed turn) and pictures (video frames or an
image) are read at the same time on two threads, so a filmed turn costs about as long as
its slower half. Media is decoded in memory and dropped after the turn; only the derived
`Perception` (labels, cues, measures) leaves this stage. A modality that fails (corrupt
file, no face, model missing) becomes a warning and the turn goes on without it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from heartline.config import PerceptionSettings
from heartline.errors import HeartlineError
from heartline.perception.base import FaceReader, TextEmotionModel, VoiceReader
from heartline.perception.face import FaceReading
from heartline.perception.fusion import Fusion
from heartline.perception.media import (
    Frame,
    MediaLimits,
    decode_audio,
    decode_image,
    decode_video,
    has_audio_track,
)
from heartline.perception.voice import VoiceReading
from heartline.schema import EmotionEstimate, Media, Observation, Perception, PlanContext, Utterance

log = logging.getLogger(__name__)


class _Lazy:
    """A component built on first use (models load only when a turn needs them)."""

    def __init__(self, build: Callable[[], object] | None, value: object | None = None) -> None:
        self._build = build
        self._value = value
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return self._value is not None or self._build is not None

    def get(self) -> object:
        with self._lock:
            if self._value is None and self._build is not None:
                self._value = self._build()
            return self._value


@dataclass
class _Outcome:
    voice: VoiceReading | None = None
    face: FaceReading | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


class Perceiver:
    """Builds a `Perception` from an observation and the dialogue so far."""

    def __init__(
        self,
        text_model: TextEmotionModel | None = None,
        voice: VoiceReader | Callable[[], VoiceReader] | None = None,
        face: FaceReader | Callable[[], FaceReader] | None = None,
        fusion: Fusion | None = None,
        limits: MediaLimits | None = None,
        face_fps: float = 4.0,
    ) -> None:
        """`voice` and `face` are readers or zero-argument builders called on first use."""
        self.text_model = text_model
        self._voice = _Lazy(None, voice) if isinstance(voice, VoiceReader) else _Lazy(voice)
        self._face = _Lazy(None, face) if isinstance(face, FaceReader) else _Lazy(face)
        self.fusion = fusion or Fusion()
        self.limits = limits or MediaLimits()
        self.face_fps = face_fps
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="perceive")

    @classmethod
    def from_settings(cls, settings: PerceptionSettings, text_model: TextEmotionModel | None = None) -> Perceiver:
        """Voice and face models as configured, fetched and loaded on first use."""
        from heartline.perception import factory

        return cls(
            text_model=text_model,
            voice=(lambda: factory.load_voice(settings)) if settings.voice else None,
            face=factory.load_face if settings.face else None,
            fusion=Fusion(settings.fusion_weights),
            limits=factory.limits(settings),
            face_fps=settings.face_fps,
        )

    def perceive(self, observation: Observation, history: list[Utterance]) -> Perception:
        typed = (observation.text or "").strip()
        outcome = self._read_media(observation, transcribe=not typed)
        transcript, source = typed, "typed" if typed else "none"
        if not typed and outcome.voice and outcome.voice.transcript and outcome.voice.transcript.text:
            transcript, source = outcome.voice.transcript.text, "speech"

        estimates: dict[str, EmotionEstimate] = {}
        if transcript and self.text_model is not None:
            context = PlanContext(utterances=[*history, Utterance(speaker="seeker", text=transcript)])
            estimates["text"] = self.text_model.recognize(context)
        if outcome.voice and outcome.voice.estimate:
            estimates["voice"] = outcome.voice.estimate
        if outcome.face and outcome.face.face_frames:
            estimates["face"] = EmotionEstimate(
                modality="face", distribution=outcome.face.distribution,
                confidence=outcome.face.confidence, source="fer2013-cnn",
            )  # fmt: skip
        fused, contributions = self.fusion.fuse(estimates)
        cues = [r.cues for r in (outcome.voice, outcome.face) if r is not None and r.cues]
        measures: dict[str, dict[str, float]] = {}
        if outcome.voice:
            measures["voice"] = {**outcome.voice.measures, **_rounded(outcome.voice.seconds, "s_")}
        if outcome.face:
            measures["face"] = {"frames": outcome.face.frames, "face_frames": outcome.face.face_frames}
        if outcome.seconds:
            measures["timing"] = _rounded(outcome.seconds)
        return Perception(
            transcript=transcript,
            transcript_source=source,  # type: ignore[arg-type]
            modalities=estimates,
            fused=fused,
            contributions=contributions,
            cues="; ".join(cues),
            warnings=outcome.warnings,
            measures=measures,
        )

    # ------------------------------------------------------------------ media

    def _read_media(self, observation: Observation, transcribe: bool) -> _Outcome:
        outcome = _Outcome()
        jobs: dict[str, Future] = {}
        started = time.perf_counter()
        sound = observation.audio or observation.video
        if sound is not None:
            if self._voice.available:
                jobs["voice"] = self._pool.submit(self._read_voice, sound, transcribe)
            elif observation.audio is not None:
                outcome.warnings.append("voice: audio given but voice perception is switched off")
        picture = observation.video or observation.image
        if picture is not None:
            if self._face.available:
                jobs["face"] = self._pool.submit(self._read_face, picture)
            else:
                outcome.warnings.append("face: pictures given but face perception is switched off")
        for name, job in jobs.items():
            try:
                reading, seconds = job.result()
            except HeartlineError as exc:
                log.warning("%s perception failed: %s", name, exc)
                outcome.warnings.append(f"{name}: {str(exc).splitlines()[0]}")
                continue
            except Exception as exc:  # a model crashing must not take the turn down with it
                log.exception("%s perception failed unexpectedly", name)
                outcome.warnings.append(f"{name}: failed unexpectedly ({type(exc).__name__}: {exc})")
                continue
            if reading is None:
                continue
            setattr(outcome, name, reading)
            outcome.seconds[name] = seconds
            outcome.warnings.extend(f"{name}: {note}" for note in reading.notes)
        if jobs:
            outcome.seconds["total"] = time.perf_counter() - started
        return outcome

    def _read_voice(self, media: Media, transcribe: bool) -> tuple[VoiceReading | None, float]:
        """A recording, or the sound track of a filmed turn (None when the film is silent)."""
        start = time.perf_counter()
        if media.kind == "video":
            try:
                if not has_audio_track(media, self.limits):
                    return None, 0.0
            except HeartlineError:
                return None, 0.0  # the face path reports an unreadable video
        samples = decode_audio(media, self.limits)
        reader: VoiceReader = self._voice.get()  # type: ignore[assignment]
        return reader.read(samples, transcribe=transcribe), time.perf_counter() - start

    def _read_face(self, media: Media) -> tuple[FaceReading, float]:
        start = time.perf_counter()
        if media.kind == "image":
            frames = [Frame(0.0, decode_image(media, self.limits))]
        else:
            frames = decode_video(media, self.face_fps, self.limits).frames
        reader: FaceReader = self._face.get()  # type: ignore[assignment]
        return reader.read_frames(frames), time.perf_counter() - start


def _rounded(values: dict[str, float], prefix: str = "") -> dict[str, float]:
    return {f"{prefix}{k}": round(v, 3) for k, v in values.items()}
