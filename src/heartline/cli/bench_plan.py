"""`heartline bench plan`: strategy quality (Q, W-F1, B) and speed of the planners on a dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from heartline.cli._options import TargetsOption, checked_targets
from heartline.cli.bench import bench_app

console = Console()


def _row(table: Table, name: str, m: dict) -> None:
    table.add_row(name, str(m["n"]), f"{100 * m['accuracy']:.2f}", f"{100 * m['weighted_f1']:.2f}",
                  f"{100 * m['macro_f1']:.2f}", f"{m['preference_bias']:.3f}")


@bench_app.command("plan")
def bench_plan(
    data: Annotated[list[str], typer.Option("--data", help="FORMAT:PATH[#SPLIT] with strategy labels, e.g. esconv:data/esconv/valid.txt.")],
    alpha: Annotated[Optional[list[float]], typer.Option("--alpha", help="Also score prior correction with these alphas.")] = None,
    llm_turns: Annotated[int, typer.Option("--llm-turns", help="Also score the LLM planner on a seeded sample of this many turns (0: skip).")] = 0,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="LLM for --llm-turns (default: configured).")] = None,
    speed_turns: Annotated[int, typer.Option("--speed-turns", help="Turns to time the trained planner on.")] = 200,
    targets: TargetsOption = "every",
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the JSON results.")] = Path("bench-plan.json"),
) -> None:
    """Trained planner (with and without bias control) vs the LLM planner, with ms/turn."""
    from heartline.embeddings import load_embedder
    from heartline.planning.trained import TrainedPlanner
    from heartline.training.benchmark import benchmark_examples, score_planner, speed
    from heartline.training.examples import TARGET_NAMES, is_first_reply

    chosen = checked_targets(targets)
    examples = benchmark_examples(data, targets=chosen)
    if not examples:
        raise typer.BadParameter("no strategy-labelled supporter turns", param_hint="--data")
    taxonomy = examples[0].context.taxonomy
    cached = load_embedder(disk_cache=True)
    planner = TrainedPlanner.load(taxonomy, embedder=cached)
    results: dict[str, dict] = {}
    bias = planner.strategy.bias
    results[f"trained (bias control {bias.method if bias else 'none'})"] = score_planner(planner, examples, "trained")
    if chosen == "every":
        first = [e for e in examples if is_first_reply(e.context)]
        results["trained, first replies only"] = score_planner(planner, first, "trained, first replies")
    variants = [("none", None), ("match", None), ("f1", None)] + [("prior", a) for a in alpha or []]
    for method, a in variants:
        name = f"trained ({method}{'' if a is None else f', alpha {a}'})"
        variant = TrainedPlanner.load(taxonomy, embedder=cached, bias=method, alpha=a)  # type: ignore[arg-type]
        results[name] = score_planner(variant, examples, name)
    if llm_turns:
        from heartline.components import build_backend, build_planner
        from heartline.config import Settings

        settings = Settings()
        settings.planner.method = "llm"
        if model:
            settings.llm.model = model
        sample = benchmark_examples(data, limit=llm_turns, targets=chosen)
        llm = build_planner(settings, build_backend(settings))
        results[f"llm {settings.llm.model} (sample)"] = score_planner(llm, sample, "llm")
        results["trained (same sample)"] = score_planner(planner, sample, "trained, sample")
    timing = speed(TrainedPlanner.load(taxonomy), examples, speed_turns)
    table = Table(title=f"strategy prediction on {', '.join(data)} ({TARGET_NAMES[chosen]})")
    for column in ("planner", "n", "accuracy", "W-F1", "Q (macro-F1)", "B"):
        table.add_column(column, justify="left" if column == "planner" else "right")
    for name, metrics in results.items():
        _row(table, name, metrics)
    console.print(table)
    console.print(f"trained planner, three steps incl. embeddings: median {timing['median_ms']:.1f} ms/turn "
                  f"(CPU {timing['cpu_median_ms']:.1f} ms), p90 {timing['p90_ms']:.1f} ms over {timing['turns']} "
                  f"turns; load average {timing['load_average']:.1f}")
    out.write_text(json.dumps({"data": data, "targets": chosen, "results": results, "speed": timing}, indent=2) + "\n")
    console.print(f"wrote {out}")
