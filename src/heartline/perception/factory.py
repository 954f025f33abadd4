"""Build the perception components from settings, fetching models through the catalogue."""

from __future__ import annotations

from heartline.config import PerceptionSettings
from heartline.models import ensure
from heartline.perception.asr import Whisper
from heartline.perception.face import FaceAnalyzer
from heartline.perception.media import MediaLimits
from heartline.perception.prosody import Prosody
from heartline.perception.vad import SileroVAD
from heartline.perception.voice import VoiceAnalyzer
from heartline.perception.voice_model import VoiceEmotionModel


def limits(settings: PerceptionSettings) -> MediaLimits:
    return MediaLimits(max_bytes=settings.max_media_bytes, max_seconds=settings.max_media_seconds)


def load_whisper(settings: PerceptionSettings) -> Whisper:
    return Whisper(ensure(settings.asr_model), language=settings.language, threads=settings.asr_threads)


def load_vad() -> SileroVAD:
    return SileroVAD(ensure("silero-vad"))


def load_voice(settings: PerceptionSettings, whisper: Whisper | None = None) -> VoiceAnalyzer:
    """VAD, ASR, prosody and the voice-emotion model (Whisper is loaded unless given)."""
    return VoiceAnalyzer(
        vad=load_vad(),
        whisper=whisper or load_whisper(settings),
        prosody=Prosody(),
        model=VoiceEmotionModel.load(settings.voice_model),
    )


def load_face() -> FaceAnalyzer:
    return FaceAnalyzer.from_path(ensure("fer-emotion"))
