"""Builds each stage from the configuration: the one place that knows every implementation."""

from __future__ import annotations

from heartline.config import Settings
from heartline.llm.base import LLMBackend
from heartline.planning.base import Planner


def build_backend(settings: Settings) -> LLMBackend:
    """The configured LLM backend (fetching the model on first use)."""
    from heartline.llm.factory import make_backend

    return make_backend(settings.llm, settings)


def build_planner(settings: Settings, backend: LLMBackend) -> Planner:
    """`llm`: the LLM reasons through the SMES chain; `trained`: the shipped small heads."""
    if settings.planner.method == "llm":
        from heartline.planning.llm import LLMPlanner

        return LLMPlanner(backend)
    from heartline.planning.trained import TrainedPlanner

    return TrainedPlanner.load_default(taxonomy=settings.planner.taxonomy)


def build_supporter(settings: Settings):  # -> Supporter (imported lazily to avoid a cycle)
    """The whole default pipeline."""
    from heartline.memory.store import SessionStore
    from heartline.perception import Perceiver
    from heartline.safety import SafetyGate
    from heartline.supporter import Supporter

    settings.home.mkdir(parents=True, exist_ok=True)
    backend = build_backend(settings)
    return Supporter(
        backend=backend,
        perceiver=Perceiver(),
        safety=SafetyGate(settings.safety),
        planner=build_planner(settings, backend),
        store=SessionStore(settings.session_url),
        settings=settings,
    )
