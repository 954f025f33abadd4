"""`heartline train voice-emotion`: the voice-emotion classifier on RAVDESS."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from heartline.cli.train import train_app


@train_app.command("voice-emotion")
def train_voice_emotion(
    data: Annotated[Path, typer.Option("--data", help="RAVDESS folder with labels.csv and Actor_XX/ clips.")],
    out: Annotated[Path, typer.Option("--out", help="Model directory to write.")],
    cache: Annotated[Path | None, typer.Option(help="Cache extracted features in this .npz (reused if present).")] = None,
) -> None:
    """Voice emotion (8 RAVDESS classes) from eGeMAPS + Whisper-encoder features, validated on unseen actors."""
    from rich.console import Console
    from rich.table import Table

    from heartline.config import Settings
    from heartline.perception import factory
    from heartline.perception.voice_model import RAVDESS_CLASSES
    from heartline.perception.voice_train import run

    settings = Settings().perception
    command = f"heartline train voice-emotion --data {data} --out {out}"
    metrics = run(data, out, cache, factory.load_vad(), factory.load_whisper(settings), command)
    held, cv = metrics["held_out_actors"], metrics["grouped_cv_all_actors"]
    table = Table(title=f"voice emotion, unseen actors -> {out}")
    table.add_column("class")
    table.add_column("recall, held-out actors", justify="right")
    table.add_column("recall, grouped CV", justify="right")
    for c in RAVDESS_CLASSES:
        table.add_row(c, f"{100 * held['per_class_recall'][c]:.1f}", f"{100 * cv['per_class_recall'][c]:.1f}")
    table.add_row("[bold]accuracy", f"[bold]{100 * held['accuracy']:.1f}", f"[bold]{100 * cv['accuracy']:.1f}")
    console = Console()
    console.print(table)
    console.print(f"chosen: {metrics['chosen']}")
