"""`heartline data ...`: inspect datasets and check their splits for leakage."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from heartline.cli import app
from heartline.datasets import compute_stats, find_leaks, load_dialogues, parse_spec, read_spec
from heartline.datasets.leakage import PairSummary, summarise
from heartline.datasets.stats import DatasetStats
from heartline.schema import Dialogue

data_app = typer.Typer(
    help="Inspect datasets: counts, label distributions, split leakage.", no_args_is_help=True
)
app.add_typer(data_app, name="data")
console = Console()


def _stats_tables(stats: DatasetStats) -> list[Table]:
    counts = Table()
    counts.add_column("count", style="bold")
    counts.add_column("value", justify="right")
    for name, value in stats.counts.items():
        counts.add_row(name, f"{value:,}" if isinstance(value, int) else f"{value:,.2f}")
    tables = [counts]
    for name, dist in stats.distributions.items():
        total = sum(dist.values())
        table = Table(title=name)
        table.add_column("label")
        table.add_column("count", justify="right")
        table.add_column("share", justify="right")
        for label, count in dist.items():
            table.add_row(label, f"{count:,}", f"{count / total:.1%}")
        tables.append(table)
    return tables


@data_app.command("stats")
def stats(
    path: Annotated[str, typer.Argument(help="Dataset path, or spec FORMAT:PATH or FORMAT:PATH#SPLIT.")],
    format: Annotated[
        str | None, typer.Option("--format", "-f", help="Dataset format (detected when omitted).")
    ] = None,
    split: Annotated[
        str | None, typer.Option("--split", "-s", help="Split of a dataset folder (all when omitted).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Counts (dialogues, utterances, turns) and label distributions of a dataset."""
    spec = parse_spec(path, format, split)
    with console.status(f"reading {spec}", spinner="dots"):
        result = compute_stats(read_spec(spec))
    if as_json:
        typer.echo(
            json.dumps({"spec": str(spec), **result.model_dump()}, ensure_ascii=False, indent=2)
        )
        return
    console.rule(str(spec))
    for table in _stats_tables(result):
        console.print(table)


def _short_name(spec: str, specs: list[str]) -> str:
    """The file name (and split) of a spec, or the whole spec when that would be ambiguous."""

    def short(one: str) -> str:
        parsed = parse_spec(one)
        return parsed.path.name + (f"#{parsed.split}" if parsed.split else "")

    mine = short(spec)
    return mine if [short(s) for s in specs].count(mine) == 1 else spec


def _print_leak_table(
    rows: list[PairSummary], splits: dict[str, list[Dialogue]], overlap: float | None
) -> None:
    names = list(splits)
    test = "whole-dialogue identity" + (f", or >= {overlap:.0%} of utterances shared" if overlap else "")
    table = Table(title=f"split leakage ({test}, on normalised text)")
    for column in ("split A", "split B", "leaked", "partial", "1-utterance dups", "examples"):
        table.add_column(column, overflow="fold")
    for r in rows:
        style = "green" if r.clean and not r.duplicate_single_utterances else "yellow" if r.clean else "red"
        table.add_row(
            f"{_short_name(r.split_a, names)} ({len(splits[r.split_a]):,})",
            f"{_short_name(r.split_b, names)} ({len(splits[r.split_b]):,})",
            str(r.leaked_dialogues),
            str(r.partial_overlaps),
            str(r.duplicate_single_utterances),
            "\n".join(r.examples[:3]),
            style=style,
        )
    console.print(table)


@data_app.command("check-splits")
def check_splits(
    specs: Annotated[
        list[str], typer.Argument(help="Two or more dataset specs (FORMAT:PATH or FORMAT:PATH#SPLIT), one per split.")
    ],
    overlap: Annotated[
        float | None,
        typer.Option(
            min=0.01,
            max=1.0,
            help="Also fail on partial copies: dialogues sharing at least this share of their "
            "substantive utterances with one dialogue of another split (0.5 is a sensible value).",
        ),
    ] = None,
    strict: Annotated[bool, typer.Option(help="Fail on duplicate one-utterance texts too.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Find dialogues that appear in two splits (same normalised content, whatever their ids).

    Exits 1 when a multi-utterance dialogue leaks, or with --overlap is partly copied.

    Duplicate texts of one-utterance datasets (GoEmotions) fail only with --strict.
    """
    if len(specs) < 2:
        raise typer.BadParameter("give at least two splits to compare")
    with console.status("reading splits", spinner="dots"):
        splits = {spec: load_dialogues(spec) for spec in specs}
    rows = summarise(specs, find_leaks(splits, min_overlap=overlap))
    failed = any(not r.clean or (strict and r.duplicate_single_utterances) for r in rows)
    if as_json:
        report = {
            "pairs": [asdict(r) for r in rows],
            "sizes": {k: len(v) for k, v in splits.items()},
            "ok": not failed,
        }
        typer.echo(json.dumps(report, indent=2))
    else:
        _print_leak_table(rows, splits, overlap)
        duplicates = sum(r.duplicate_single_utterances for r in rows)
        if failed:
            console.print("[red]leakage found[/]")
        elif duplicates:
            console.print(
                f"[yellow]no leaked dialogues; {duplicates} one-utterance texts recur across "
                "splits[/] (not a failure without --strict)"
            )
        else:
            console.print("[green]no leaked dialogues[/]")
    if failed:
        raise typer.Exit(1)
