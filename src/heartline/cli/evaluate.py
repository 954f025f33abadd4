"""`heartline eval ...`: evaluate systems and score saved outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from heartline.cli import app

eval_app = typer.Typer(help="Evaluate systems and score saved outputs.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")

_PERCENT_GROUPS = ("response",)
_UNSCALED = {"length", "perplexity", "semantic_similarity"}  # others are 0-100


def _format(group: str, name: str, value: float) -> str:
    if group in _PERCENT_GROUPS and name not in _UNSCALED:
        return f"{value:.2f}"
    return f"{value:.4f}"


@eval_app.command("score")
def score(
    predictions: Annotated[Path, typer.Option(
        "--predictions", "-p", exists=True, dir_okay=False,
        help="JSONL, one object a line: dialogue_id, turn and predicted (and gold) fields.")],
    references: Annotated[Path | None, typer.Option(
        "--references", "-r", exists=True, dir_okay=False,
        help="JSONL of gold fields (reference, gold_strategy, gold_emotion) joined on "
             "(dialogue_id, turn).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", file_okay=False, help="Directory to write metrics.json into.")] = None,
    similarity: Annotated[bool, typer.Option(
        "--similarity/--no-similarity",
        help="Also score semantic similarity with a sentence embedder (loads the model).")] = False,
    meteor: Annotated[bool, typer.Option(
        "--meteor/--no-meteor",
        help="Score METEOR 1.5 with its Java jar (~20 s; skipped with a note if unavailable).")
    ] = True,
    embedder_name: Annotated[str, typer.Option(
        "--embedder", help="Catalogue name of the sentence embedder for --similarity.")
    ] = "all-minilm-l6-v2",
) -> None:
    """Score saved outputs with heartline's metrics, without running a model."""
    from heartline.evaluation.score import score_files

    embedder = None
    if similarity:
        from heartline.embeddings import load_embedder

        embedder = load_embedder(embedder_name)
    report = score_files(predictions, references, embedder=embedder, meteor=meteor)

    console = Console()
    table = Table(title=f"{predictions.name}: {report.n_records} records")
    table.add_column("group")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("n", justify="right")
    for group, values in report.metrics.items():
        for name, value in values.items():
            n = report.counts.get("perplexity" if name == "perplexity" else group, 0)
            table.add_row(group, name, _format(group, name, value), str(n))
    console.print(table)
    if report.sacrebleu_signature:
        console.print(f"sacreBLEU signature: {report.sacrebleu_signature}")
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}")
    if out is not None:
        path = report.write(out)
        console.print(f"wrote {path}")
    else:
        console.print("[dim]pass --out DIR to save metrics.json[/]")
