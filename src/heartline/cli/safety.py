"""`heartline safety check | scan`: try the crisis gate on one message, or audit it on a dataset."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
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
from heartline.errors import HeartlineError
from heartline.safety import SafetyGate
from heartline.safety.corpus import read_messages, read_replies
from heartline.evaluation.safety_eval import pct
from heartline.evaluation.safety_scan import ScanReport, scan_dialogues
from heartline.schema import RiskLevel, SafetyCheck

safety_app = typer.Typer(help="Check messages with the crisis gate; audit it on datasets.", no_args_is_help=True)
app.add_typer(safety_app, name="safety")

console = Console()
STYLES = {RiskLevel.NONE: "green", RiskLevel.ELEVATED: "yellow", RiskLevel.CRISIS: "bold red"}
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
RulesOnlyOption = Annotated[bool, typer.Option("--rules-only", help="Use the rules without the crisis classifier.")]


def _gate(locale: str | None, rules_only: bool = False) -> SafetyGate:
    return SafetyGate(settings_with(locale=locale).safety, classifier=not rules_only)


def _record(gate: SafetyGate, result: SafetyCheck) -> dict:
    reply = gate.protocol_reply(result) if result.is_crisis else None
    return {**result.model_dump(mode="json"), "reply": reply, "guidance": gate.guidance(result)}


@safety_app.command("check")
def check(
    text: Annotated[str | None, typer.Argument(help="The person's message (or use --file).")] = None,
    history: Annotated[
        list[str] | None, typer.Option("--history", "-H", help="An earlier message of theirs (repeat, oldest first).")
    ] = None,
    file: Annotated[Path | None, typer.Option(
        "--file", "-f", dir_okay=False, help="Check every line: plain text, or JSONL with 'text' and optional "
        "'history'; prints one JSON object per line.")] = None,
    locale: LocaleOption = None,
    rules_only: RulesOnlyOption = False,
    as_json: JsonOption = False,
) -> None:
    """Assess messages: level, categories, whose risk, evidence, and the protocol reply on crisis."""
    if (text is None) == (file is None):
        raise HeartlineError("give either a message or --file", hint='heartline safety check "..." or --file messages.jsonl')
    gate = _gate(locale, rules_only)
    if file is not None:
        messages = read_messages(file)
        with _bar("checking", len(messages)) as advance:
            for message in messages:
                result = gate.check(message.text, history=list(message.history))
                print(json.dumps({"text": message.text, **_record(gate, result)}, ensure_ascii=False), flush=True)
                advance()
        return
    result = gate.check(text or "", history=list(history or []))
    if as_json:
        print(json.dumps(_record(gate, result), ensure_ascii=False, indent=2))
        return
    reply = gate.protocol_reply(result) if result.is_crisis else None
    console.print(f"level: [{STYLES[result.level]}]{result.level.value}[/]"
                  + (" (carried over from earlier messages)" if result.from_history else ""))
    if result.degraded:
        console.print(f"[yellow]{escape(result.degraded)}[/]")
    if result.categories:
        console.print(f"categories: {', '.join(result.categories)}" + (f" · whose: {result.whose}" if result.whose else ""))
    if result.score is not None:
        console.print(f"classifier crisis probability: {result.score:.3f}")
    for phrase in result.evidence:
        console.print(f"evidence: [cyan]{escape(phrase)}[/]")
    if reply:
        console.print(f"\n[bold]protocol reply ({result.protocol}, {result.language}):[/]\n{escape(reply)}")
    elif result.level == RiskLevel.ELEVATED:
        console.print(f"\n[bold]prompt guidance:[/] {escape(gate.guidance(result) or '')}")


@safety_app.command("eval")
def evaluate(
    data: Annotated[list[Path], typer.Option("--data", "-d", exists=True, dir_okay=False, help=(
        "Labelled messages (JSONL: text, history, level, category, whose, lang; docs/safety-labels.md) or labelled "
        "replies (JSONL: text, harmful, category). Repeatable."))],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for metrics.json and report.html.")],
    locale: LocaleOption = None,
    rules_only: RulesOnlyOption = False,
) -> None:
    """Crisis recall and precision per category and language, whose-risk, a confusion matrix; the reply screen on replies."""
    from heartline.evaluation.safety_eval import check_messages, message_metrics, reply_metrics, write_safety_report

    gate = _gate(locale, rules_only)
    messages, replies = [], []
    for path in data:
        if _is_reply_file(path):
            replies += read_replies(path)
        else:
            messages += read_messages(path)
    metrics: dict = {"data": [str(p) for p in data], "gate": "rules only" if rules_only else "rules + classifier"}
    if messages:
        with _bar("messages", len(messages)) as advance:
            metrics["messages"] = message_metrics(check_messages(gate, messages, advance))
    if replies:
        with _bar("replies", len(replies)) as advance:
            metrics["replies"] = reply_metrics(gate.screen, replies, advance)
    write_safety_report(out, metrics)
    _print_eval(metrics)
    console.print(f"wrote {out / 'metrics.json'} and {out / 'report.html'}")


def _is_reply_file(path: Path) -> bool:
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.strip():
                try:
                    return "harmful" in json.loads(line)
                except (json.JSONDecodeError, TypeError):
                    return False
    return False


def _print_eval(metrics: dict) -> None:
    m = metrics.get("messages")
    if m:
        table = Table(title=f"crisis detection · {', '.join(f'{k} {v}' for k, v in m['n'].items())} (%)")
        for column in ("crisis recall", "precision", "ordinary at crisis", "elevated at crisis", "category right",
                       "whose right"):
            table.add_column(column, justify="right")
        table.add_row(*(pct(m[k]) for k in ("crisis_recall", "crisis_precision", "none_at_crisis", "elevated_at_crisis",
                                              "category_right", "whose_right")))
        console.print(table)
        per = Table(title="per category (crisis messages)")
        for column in ("category", "n", "recall", "precision"):
            per.add_column(column, justify="right" if column != "category" else "left")
        for category, v in m["per_category"].items():
            per.add_row(category, str(v["n"]), pct(v["recall"]), pct(v["precision"]))
        console.print(per)
        if len(m["per_language"]) > 1:
            lang = Table(title="per language")
            for column in ("language", "crisis", "recall", "ordinary", "ordinary at crisis"):
                lang.add_column(column, justify="right")
            for k, v in m["per_language"].items():
                lang.add_row(k, str(v["crisis"]), pct(v["recall"]), str(v["none"]), pct(v["none_at_crisis"]))
            console.print(lang)
        confusion = Table(title="levels: gold (rows) x gate (columns)")
        confusion.add_column("")
        for label in m["confusion"]["labels"]:
            confusion.add_column(label, justify="right")
        for label, row in zip(m["confusion"]["labels"], m["confusion"]["matrix"]):
            confusion.add_row(label, *(str(x) for x in row))
        console.print(confusion)
    r = metrics.get("replies")
    if r:
        table = Table(title=f"reply screen · {r['n']['harmful']} harmful, {r['n']['safe']} safe (%)")
        table.add_column("harmful blocked", justify="right")
        table.add_column("safe blocked", justify="right")
        table.add_column("per category")
        table.add_row(pct(r["harmful_blocked"]), pct(r["safe_blocked"]),
                      ", ".join(f"{c} {pct(v['blocked'])}" for c, v in r["per_category"].items()))
        console.print(table)


@contextmanager
def _bar(what: str, total: int) -> Iterator[Callable[[], None]]:
    with Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), console=Console(stderr=True),
                  transient=True) as bar:
        task = bar.add_task(what, total=total)
        yield lambda: bar.advance(task)


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
    gate.check("warming up the detectors before timing")  # loads the classifier outside the timings
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
