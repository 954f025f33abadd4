"""Builds each stage from the configuration: the one place that knows every implementation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from heartline.config import Settings
from heartline.llm.base import LLMBackend
from heartline.planning.base import Planner

if TYPE_CHECKING:
    from heartline.perception.text_emotion import TextEmotionRecognizer
    from heartline.supporter import Supporter


def build_backend(settings: Settings) -> LLMBackend:
    """The configured LLM backend (fetching the model on first use)."""
    from heartline.llm.factory import make_backend

    return make_backend(settings.llm, settings)


def build_text_emotion() -> TextEmotionRecognizer:
    """The shipped text-emotion head on the process's one sentence embedder (shared through this
    recogniser with the trained planner)."""
    from heartline.embeddings import shared_embedder
    from heartline.perception.text_emotion import TextEmotionRecognizer

    return TextEmotionRecognizer.load(embedder=shared_embedder())


def build_planner(settings: Settings, backend: LLMBackend, text_emotion: TextEmotionRecognizer | None = None) -> Planner:
    """`trained`: the shipped small heads steer; `llm`: the LLM reasons through the SMES chain."""
    if settings.planner.method == "llm":
        from heartline.planning.llm import LLMPlanner

        return LLMPlanner(backend, timeout_s=settings.llm.timeout_s)
    from heartline.planning.trained import TrainedPlanner

    embedder = text_emotion.embedder if text_emotion is not None else None
    return TrainedPlanner.load(settings.planner.taxonomy, embedder=embedder, bias=settings.planner.bias,
                               alpha=settings.planner.bias_alpha)


def build_supporter(settings: Settings) -> Supporter:
    """The whole default pipeline."""
    from heartline.memory.store import SessionStore
    from heartline.perception import Perceiver
    from heartline.safety import SafetyGate
    from heartline.supporter import Supporter

    from heartline.privacy import private_dir

    private_dir(settings.home)  # owner-only: it holds the conversations
    backend = build_backend(settings)
    text_emotion = build_text_emotion()
    return Supporter(
        backend=backend,
        perceiver=Perceiver.from_settings(settings.perception, text_model=text_emotion),
        safety=SafetyGate(settings.safety),
        planner=build_planner(settings, backend, text_emotion),
        store=SessionStore(settings.session_url),
        settings=settings,
    )
