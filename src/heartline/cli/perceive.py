"""`heartline perceive`: what heartline hears and sees in a turn, without replying."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from heartline.cli import app


@app.command("perceive")
def perceive(
    text: Annotated[str | None, typer.Option(help="What the person typed.")] = None,
    audio: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="A spoken turn: WAV, FLAC, OGG/Opus, MP3, WebM.")] = None,
    video: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="A filmed turn: MP4, WebM, AVI (its sound is heard too).")] = None,
    image: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="A picture of the person: JPEG, PNG.")] = None,
    text_model: Annotated[bool, typer.Option(help="Read emotion from the words too (loads the text emotion model).")] = True,
    json_out: Annotated[bool, typer.Option("--json", help="Print the Perception record as JSON.")] = False,
) -> None:
    """Transcript, per-modality emotions, fused emotion and cues for one turn."""
    from rich.console import Console
    from rich.table import Table

    from heartline.config import Settings
    from heartline.perception import Perceiver
    from heartline.schema import Media, Observation

    if not any((text, audio, video, image)):
        raise typer.BadParameter("give at least one of --text, --audio, --video, --image")
    recognizer = None
    if text_model:
        from heartline.perception.text_emotion import TextEmotionRecognizer

        recognizer = TextEmotionRecognizer.load()
    perceiver = Perceiver.from_settings(Settings().perception, text_model=recognizer)
    observation = Observation(
        text=text,
        audio=Media(kind="audio", path=audio) if audio else None,
        video=Media(kind="video", path=video) if video else None,
        image=Media(kind="image", path=image) if image else None,
    )
    perception = perceiver.perceive(observation, [])
    if json_out:
        typer.echo(perception.model_dump_json(indent=2))
        return
    console = Console()
    console.print(f"[bold]transcript[/] ({perception.transcript_source}): {perception.transcript or '—'}")
    table = Table(title=f"user emotion: {perception.user_emotion or 'unknown'}")
    for column in ("modality", "emotion", "probability", "confidence", "contribution", "source"):
        table.add_column(column, justify="left" if column in ("modality", "emotion", "source") else "right")
    rows = dict(perception.modalities)
    if perception.fused:
        rows["fused"] = perception.fused
    for name, estimate in rows.items():
        share = perception.contributions.get(name)
        table.add_row(name, estimate.label, f"{estimate.distribution[estimate.label]:.2f}", f"{estimate.confidence:.2f}",
                      f"{share:.2f}" if share is not None else "", estimate.source)  # fmt: skip
    console.print(table)
    if perception.cues:
        console.print(f"[bold]cues[/]: {perception.cues}")
    for warning in perception.warnings:
        console.print(f"[yellow]warning[/]: {warning}")
