"""Command-line options shared by the commands that run the pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from heartline.config import Settings
from heartline.schema import Media, Observation
from heartline.training.examples import Targets

ModelOption = Annotated[
    Optional[str],
    typer.Option("--model", "-m", help="Catalogue name (see `heartline models list`), a GGUF path, or the server's model name."),
]
BackendOption = Annotated[
    Optional[str], typer.Option("--backend", help="llama (in-process, default) or openai (any OpenAI-compatible server).")
]
BaseUrlOption = Annotated[Optional[str], typer.Option("--base-url", help="OpenAI-compatible server URL, e.g. http://127.0.0.1:8080/v1")]
PlannerOption = Annotated[Optional[str], typer.Option("--planner", help="trained (small heads) or llm (the LLM reasons).")]
LocaleOption = Annotated[Optional[str], typer.Option("--locale", help="Locale of the crisis resources, e.g. en-GB.")]
AudioOption = Annotated[Optional[Path], typer.Option("--audio", exists=True, dir_okay=False, help="A spoken turn (wav, flac, ogg, mp3, webm).")]
VideoOption = Annotated[Optional[Path], typer.Option("--video", exists=True, dir_okay=False, help="A filmed turn (mp4, webm, avi).")]
TargetsOption = Annotated[str, typer.Option(
    "--targets", help="Supporter utterances to score: 'every' (the published ESConv protocol) or "
    "'replies' (the first reply to each seeker message, what the live pipeline plans).")]
ImageOption = Annotated[Optional[Path], typer.Option("--image", exists=True, dir_okay=False, help="A photo of the person's face.")]


def settings_with(
    model: str | None = None,
    backend: str | None = None,
    base_url: str | None = None,
    planner: str | None = None,
    locale: str | None = None,
) -> Settings:
    """The configured settings with the given command-line overrides applied (validated: an
    unknown backend or planner is a ConfigError naming the option's setting)."""
    settings = Settings()
    llm = {k: v for k, v in {"model": model, "backend": backend, "base_url": base_url}.items() if v}
    sections: dict[str, dict[str, object]] = {}
    if llm:
        sections["llm"] = llm
    if planner:
        sections["planner"] = {"method": planner}
    if locale:
        sections["safety"] = {"locale": locale}
    return settings.updated(**sections) if sections else settings


def checked_targets(targets: str) -> Targets:
    if targets not in ("every", "replies"):
        raise typer.BadParameter("choose 'every' or 'replies'", param_hint="--targets")
    return targets  # type: ignore[return-value]


def observation_from(
    session_id: str,
    text: str | None,
    audio: Path | None = None,
    video: Path | None = None,
    image: Path | None = None,
) -> Observation:
    """An observation from typed text and media files (media are read in memory, never stored)."""
    return Observation(
        session_id=session_id,
        text=text,
        audio=Media(kind="audio", path=audio) if audio else None,
        video=Media(kind="video", path=video) if video else None,
        image=Media(kind="image", path=image) if image else None,
    )
