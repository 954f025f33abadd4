"""`heartline safety check | scan`: try the crisis gate on one message, or audit it on a dataset."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from heartline.benchmarks.machine import machine_info
from heartline.cli import app
from heartline.cli._options import LocaleOption, settings_with
from heartline.datasets import load_dialogues
from heartline.safety import SafetyGate
from heartline.safety.scan import ScanReport, scan_dialogues
from heartline.schema import RiskLevel

safety_app = typer.Typer(help="Check messages with the crisis gate; audit it on datasets.", no_args_is_help=True)
app.add_typer(safety_app, name="safety")

console = Console()
STYLES = {RiskLevel.NONE: "green", RiskLevel.ELEVATED: "yellow", RiskLevel.CRISIS: "bold red"}
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
RulesOnlyOption = Annotated[bool, typer.Option("--rules-only", help="Use the rules without the semantic detector.")]


def _gate(locale: str | None, rules_only: bool = False) -> SafetyGate:
    return SafetyGate(settings_with(locale=locale).safety, semantic=not rules_only)


@safety_app.command("check")
def check(
    text: Annotated[str, typer.Argument(help="The person's message.")],
    history: Annotated[
        list[str] | None, typer.Option("--history", "-H", help="An earlier message of theirs (repeat, oldest first).")
    ] = None,
    locale: LocaleOption = None,
    rules_only: RulesOnlyOption = False,
    as_json: JsonOption = False,
) -> None:
    """Assess one message: level, categories, evidence, and the protocol reply on crisis."""
    gate = _gate(locale, rules_only)
    result = gate.check(text, history=list(history or []))
    reply = gate.protocol_reply(result) if result.is_crisis else None
    if as_json:
        print(json.dumps({**result.model_dump(mode="json"), "reply": reply, "guidance": gate.guidance(result)},
                         ensure_ascii=False, indent=2))
        return
    console.print(f"level: [{STYLES[result.level]}]{result.level.value}[/]"
                  + (" (carried over from earlier messages)" if result.from_history else ""))
    if result.categories:
        console.print(f"categories: {', '.join(result.categories)}")
    for phrase in result.evidence:
        console.print(f"evidence: [cyan]{escape(phrase)}[/]")
    if reply:
        console.print(f"\n[bold]protocol reply ({result.protocol}):[/]\n{escape(reply)}")
    elif result.level == RiskLevel.ELEVATED:
        console.print(f"\n[bold]prompt guidance:[/] {escape(gate.guidance(result) or '')}")


@safety_app.command("scan")
def scan(
    spec: Annotated[str, typer.Argument(help="A dataset spec, e.g. esconv:../shared/data/esconv/train.txt or mesc:../shared/data/mesc#train.")],
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="Scan only the first N dialogues.")] = None,
    history: Annotated[bool, typer.Option("--history/--alone", help="Check each message with the person's earlier messages, or alone.")] = True,
    sample: Annotated[int, typer.Option("--sample", min=0, help="Show this many flagged messages per level.")] = 15,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the sample drawn.")] = 0,
    locale: LocaleOption = None,
    rules_only: RulesOnlyOption = False,
    as_json: JsonOption = False,
) -> None:
    """Run the gate over every seeker message of a dataset: counts per level and category, and a sample of flagged messages."""
    dialogues = load_dialogues(spec)
    gate = _gate(locale, rules_only)
    gate.check("warming up the detectors before timing")  # loads the embedder outside the timings
    total = min(len(dialogues), limit) if limit else len(dialogues)
    with Progress(TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), console=Console(stderr=True),
                  transient=True) as bar:
        task = bar.add_task("scan", total=total)
        report = scan_dialogues(dialogues, gate, history=history, limit=limit, advance=lambda: bar.advance(task))
    levels = (RiskLevel.CRISIS, RiskLevel.ELEVATED)
    samples = {level: report.sample(sample, level, seed) for level in levels}
    if as_json:
        print(json.dumps(_as_dict(report, samples, spec, history), ensure_ascii=False, indent=2))
        return
    _print_report(report, samples, spec, history)


def _as_dict(report: ScanReport, samples: dict, spec: str, history: bool) -> dict:
    return {
        "spec": spec,
        "history": history,
        "dialogues": report.dialogues,
        "messages": report.messages,
        "levels": dict(report.levels),
        "latency_ms": report.latency(),
        "machine": machine_info(),
        "carried": dict(report.carried),
        "categories": {level: dict(counts) for level, counts in report.categories.items()},
        "sample": {
            level.value: [{"dialogue": f.dialogue_id, "index": f.index, "text": f.text,
                           **f.check.model_dump(mode="json")} for f in flagged]
            for level, flagged in samples.items()
        },
    }


def _print_report(report: ScanReport, samples: dict, spec: str, history: bool) -> None:
    mode = "with history" if history else "alone"
    table = Table(title=f"{spec} · {report.dialogues} dialogues · {report.messages} seeker messages · {mode}")
    table.add_column("level")
    table.add_column("messages", justify="right")
    table.add_column("share", justify="right")
    table.add_column("carried only", justify="right")
    table.add_column("categories")
    for level in (RiskLevel.CRISIS, RiskLevel.ELEVATED, RiskLevel.NONE):
        n = report.levels.get(level.value, 0)
        cats = report.categories.get(level.value, {})
        table.add_row(f"[{STYLES[level]}]{level.value}[/]", str(n), f"{n / max(1, report.messages):.2%}",
                      str(report.carried.get(level.value, 0)),
                      ", ".join(f"{c} {k}" for c, k in sorted(cats.items(), key=lambda kv: -kv[1])))
    console.print(table)
    if report.check_ms:
        t, m = report.latency(), machine_info()
        console.print(f"gate time per message: median {t['median']:.1f} ms, p90 {t['p90']:.1f} ms, "
                      f"max {t['max']:.1f} ms ({m['cpu']}, {m['cores']} cores)")
    for level, flagged in samples.items():
        if not flagged:
            continue
        shown = Table(title=f"sample of {level.value} messages", show_lines=True)
        shown.add_column("dialogue:turn", no_wrap=True)
        shown.add_column("categories")
        shown.add_column("evidence")
        shown.add_column("message", ratio=1)
        for f in flagged:
            shown.add_row(f"{f.dialogue_id}:{f.index}", ", ".join(f.check.categories),
                          escape("; ".join(f.check.evidence)), escape(f.text))
        console.print(shown)
