"""`heartline eval ...`: evaluate systems and score saved outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from heartline.cli import app
from heartline.cli._options import TargetsOption, checked_targets

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


@eval_app.command("run")
def run(
    data: Annotated[str, typer.Option(
        "--data", "-d", help="FORMAT:PATH[#SPLIT], e.g. esconv:data/esconv/valid.txt, ravdess:DIR.")],
    out: Annotated[Path, typer.Option(
        "--out", "-o", file_okay=False,
        help="Run directory; rerunning into it resumes (finished turns are skipped).")],
    task: Annotated[list[str], typer.Option(
        "--task", "-t", help="emotion, strategy, response, voice-emotion, face-emotion or all "
                             "(repeatable).")] = ["all"],  # noqa: B006
    system: Annotated[Path | None, typer.Option(
        "--system", exists=True, dir_okay=False,
        help="TOML file of settings overrides ([llm] model/backend/base_url, [planner] ...).")] = None,
    planner: Annotated[str | None, typer.Option(
        "--planner", help="trained (shipped heads) or llm (the LLM plans); default: the --system "
                          "file's [planner] method, else trained.")] = None,
    model: Annotated[str | None, typer.Option(
        "--model", "-m", help="LLM for replies (and --planner llm): catalogue name, GGUF path "
                              "or server model name.")] = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", "-n", min=1, help="Only the first N dialogues (or media samples).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Items embedded per batch.")] = 256,
    heads: Annotated[Path | None, typer.Option(
        "--heads", exists=True, file_okay=False,
        help="Directory of trained heads named as the shipped ones (text-emotion, strategy-esconv, "
             "strategy-mesc, system-emotion), e.g. from `heartline train`.")] = None,
    targets: TargetsOption = "every",
) -> None:
    """Per-turn evaluation on gold history: predictions.jsonl, metrics.json, report.html."""
    from heartline.evaluation.runners import RunOptions, load_system, planner_method, run_evaluation

    settings = load_system(system)
    if model:
        settings.llm = settings.llm.model_copy(update={"model": model})
    method = planner_method(planner, system)
    options = RunOptions(data=data, tasks=list(task), planner=method, limit=limit,
                         batch_size=batch_size, system=str(system) if system else None,
                         heads=str(heads) if heads else None, targets=checked_targets(targets))
    result = run_evaluation(options, out, settings)

    console = Console()
    console.print(f"{result.new} new item(s), {result.skipped} already done")
    dialogue_tasks = {"emotion", "strategy", "response"} & set(result.metrics.get("tasks", []))
    table = Table(title=f"{data}: {result.metrics.get('n_records', 0)} records"
                        + (" (gold history)" if dialogue_tasks else ""))
    for column in ("group", "metric", "value", "n"):
        table.add_column(column, justify="left" if column in ("group", "metric") else "right")
    counts = result.metrics.get("counts", {})
    for group, values in result.metrics.get("metrics", {}).items():
        for name, value in values.items():
            table.add_row(group, name, _format(group, name, value), str(counts.get(group, "")))
    console.print(table)
    for kind, stats in result.metrics.get("throughput", {}).items():
        console.print(f"[dim]{kind}:[/] " + ", ".join(f"{k} {v}" for k, v in stats.items()))
    for note in result.metrics.get("notes", []):
        console.print(f"[yellow]note:[/] {note}")
    console.print(f"wrote {out / 'predictions.jsonl'}, {out / 'metrics.json'}, {out / 'report.html'}")


@eval_app.command("compare")
def compare(
    runs: Annotated[list[Path], typer.Argument(
        exists=True, file_okay=False, help="Run directories written by `heartline eval run`.")],
    out: Annotated[Path, typer.Option(
        "--out", "-o", dir_okay=False, help="Where to write the HTML comparison.")] = Path("compare.html"),
) -> None:
    """Put evaluation runs side by side (table here, HTML with plots in --out)."""
    from heartline.evaluation.compare import (
        comparison_rows,
        differences,
        load_runs,
        write_comparison,
    )

    loaded = load_runs(runs)
    table = Table(title="runs compared")
    table.add_column("group")
    table.add_column("metric")
    for run_ in loaded:
        table.add_column(run_.label, justify="right")
    for group, name, values in comparison_rows(loaded):
        table.add_row(group, name, *("–" if v is None else _format(group, name, v) for v in values))
    for group in dict.fromkeys(g for run_ in loaded for g in run_.metrics.get("counts", {})):
        table.add_row("n", group, *(str(run_.metrics.get("counts", {}).get(group, "–")) for run_ in loaded))
    console = Console()
    console.print(table)
    for note in differences(loaded):
        console.print(f"[yellow]note:[/] {note}")
    console.print(f"wrote {write_comparison(loaded, out)}")
