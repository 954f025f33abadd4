"""`heartline data ...`: inspect datasets and check their splits for leakage."""

from __future__ import annotations

import json
from collections import defaultdict

import typer
from rich.console import Console
from rich.table import Table

from heartline.cli import app
from heartline.datasets import compute_stats, find_leaks, load_dialogues, parse_spec, read_spec
from heartline.datasets.leakage import Leak
from heartline.datasets.stats import DatasetStats

data_app = typer.Typer(help="Inspect datasets: counts, label distributions, split leakage.", no_args_is_help=True)
app.add_typer(data_app, name="data")
console = Console()


def _stats_tables(title: str, stats: DatasetStats) -> list[Table]:
    counts = Table(title=title, title_justify="left")
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
    path: str = typer.Argument(..., help="Dataset path or spec FORMAT:PATH[#SPLIT]."),
    format: str | None = typer.Option(None, "--format", "-f", help="Dataset format (detected when omitted)."),
    split: str | None = typer.Option(None, "--split", "-s", help="Split of a dataset directory (all when omitted)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Counts (dialogues, utterances, turns) and label distributions of a dataset."""
    spec = parse_spec(path, format, split)
    with console.status(f"reading {spec}", spinner="dots"):
        result = compute_stats(read_spec(spec))
    if as_json:
        typer.echo(json.dumps({"spec": str(spec), **result.model_dump()}, ensure_ascii=False, indent=2))
        return
    for table in _stats_tables(str(spec), result):
        console.print(table)


def _summarise(names: list[str], leaks: list[Leak]) -> list[dict[str, object]]:
    by_pair: dict[tuple[str, str], list[Leak]] = defaultdict(list)
    for leak in leaks:
        by_pair[(leak.split_a, leak.split_b)].append(leak)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            pair = by_pair.get((a, b), [])
            dialogues = [leak for leak in pair if leak.identical and not leak.single_utterance]
            partial = [leak for leak in pair if not leak.identical]
            singles = [leak for leak in pair if leak.identical and leak.single_utterance]
            rows.append({
                "split_a": a,
                "split_b": b,
                "leaked_dialogues": len({leak.id_b for leak in dialogues}),
                "partial_overlaps": len({leak.id_b for leak in partial}),
                "duplicate_single_utterances": len({leak.id_b for leak in singles}),
                "examples": [
                    f"{leak.id_a} = {leak.id_b}" if leak.identical else f"{leak.id_a} ~ {leak.id_b} ({leak.overlap:.0%})"
                    for leak in (dialogues + partial or singles)[:5]
                ],
            })
    return rows


def _short_name(spec: str, specs: list[str]) -> str:
    """The file name (and split) of a spec, or the whole spec when that would be ambiguous."""
    parsed = parse_spec(spec)
    short = parsed.path.name + (f"#{parsed.split}" if parsed.split else "")
    clashes = [s for s in specs if parse_spec(s).path.name == parsed.path.name and parse_spec(s).split == parsed.split]
    return short if len(clashes) == 1 else spec


def _print_leak_table(rows: list[dict[str, object]], names: dict[str, str], splits: dict[str, list],
                      overlap: float | None) -> None:
    test = "whole-dialogue identity" + (f", or >= {overlap:.0%} of utterances shared" if overlap else "")
    table = Table(title=f"split leakage ({test}, on normalised text)")
    for column in ("split A", "split B", "leaked", "partial", "1-utterance dups", "examples"):
        table.add_column(column, overflow="fold")
    for r in rows:
        a, b = str(r["split_a"]), str(r["split_b"])
        bad = r["leaked_dialogues"] or r["partial_overlaps"]
        style = "red" if bad else ("yellow" if r["duplicate_single_utterances"] else "green")
        table.add_row(
            f"{names[a]} ({len(splits[a]):,})", f"{names[b]} ({len(splits[b]):,})",
            str(r["leaked_dialogues"]), str(r["partial_overlaps"]), str(r["duplicate_single_utterances"]),
            "\n".join(r["examples"][:3]), style=style,  # type: ignore[index]
        )
    console.print(table)


@data_app.command("check-splits")
def check_splits(
    specs: list[str] = typer.Argument(..., help="Two or more dataset specs FORMAT:PATH[#SPLIT], one per split."),
    overlap: float | None = typer.Option(
        None, "--overlap", min=0.01, max=1.0,
        help="Also fail on partial copies: dialogues sharing at least this share of their substantive "
             "utterances with one dialogue of another split (0.5 is a sensible value).",
    ),
    strict: bool = typer.Option(False, "--strict", help="Fail on duplicate single-utterance texts too."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Find dialogues that appear in two splits (same normalised content, whatever their ids).

    Exits 1 when a multi-utterance dialogue leaks (or, with --overlap, is partly copied). Duplicate texts in one-utterance datasets
    (GoEmotions) are reported but fail only with --strict: short texts recur naturally.
    """
    if len(specs) < 2:
        raise typer.BadParameter("give at least two splits to compare")
    with console.status("reading splits", spinner="dots"):
        splits = {spec: load_dialogues(spec) for spec in specs}
    rows = _summarise(specs, find_leaks(splits, min_overlap=overlap))
    failed = any(
        r["leaked_dialogues"] or r["partial_overlaps"] or (strict and r["duplicate_single_utterances"]) for r in rows
    )
    if as_json:
        typer.echo(json.dumps({"pairs": rows, "sizes": {k: len(v) for k, v in splits.items()}, "ok": not failed}, indent=2))
    else:
        _print_leak_table(rows, {spec: _short_name(spec, specs) for spec in specs}, splits, overlap)
        duplicates = sum(int(r["duplicate_single_utterances"]) for r in rows)
        if failed:
            console.print("[red]leakage found[/]")
        elif duplicates:
            console.print(f"[yellow]no leaked dialogues; {duplicates} one-utterance texts recur across splits[/] "
                          "(not a failure without --strict)")
        else:
            console.print("[green]no leaked dialogues[/]")
    if failed:
        raise typer.Exit(1)
