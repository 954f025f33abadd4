"""`heartline bench turn`: whole-turn latency, first token, tokens/s and memory per model tier."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from heartline.cli._options import BackendOption, BaseUrlOption, PlannerOption, settings_with
from heartline.cli.bench import bench_app

DEFAULT_MODELS = ["smollm2-135m", "qwen2.5-coder-1.5b"]
console = Console(width=160)


def _run_one(model: str, backend: str | None, base_url: str | None, planner: str | None, turns: int) -> dict:
    """One model's benchmark, in its own process so that peak memory is its own."""
    from heartline.benchmarks.turn import run_turn_benchmark

    return run_turn_benchmark(settings_with(model, backend, base_url, planner), turns=turns)


@bench_app.command("turn")
def bench_turn(
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="Model(s) to measure; default: the fast and the quality tier.")] = None,
    turns: Annotated[int, typer.Option("--turns", "-n", min=1, help="Measured turns (after one warm-up turn).")] = 12,
    backend: BackendOption = None,
    base_url: BaseUrlOption = None,
    planner: PlannerOption = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the JSON results.")] = Path("bench-turn.json"),
) -> None:
    """A scripted conversation through the whole pipeline: first token, turn latency, tokens/s, memory."""
    from heartline.benchmarks.machine import machine_info

    results = []
    context = multiprocessing.get_context("spawn")
    for name in model or DEFAULT_MODELS:
        with context.Pool(1) as pool:
            results.append(pool.apply(_run_one, (name, backend, base_url, planner, turns)))
    table = Table(title=f"bench turn ({turns} turns after 1 warm-up)")
    for column in ("model", "planner", "first token p50", "turn p50", "turn p90", "prompt tok/s",
                   "decode tok/s", "new tokens", "turn30/turn3", "peak RSS MB", "fallbacks", "regenerated"):
        table.add_column(column, justify="right" if column != "model" else "left")
    for result in results:
        s = result["summary"]
        table.add_row(
            result["model"], result["planner"], _fmt(s["first_token_p50_s"], "s"), _fmt(s["latency_p50_s"], "s"),
            _fmt(s["latency_p90_s"], "s"), _fmt(s["prompt_tokens_per_s"]), _fmt(s["decode_tokens_per_s"]),
            _fmt(s["completion_tokens_mean"]), _fmt(s.get("turn30_over_turn3")), _fmt(s["peak_rss_mb"]),
            str(s["fallbacks"]), str(s["regenerated"]),
        )
    console.print(table)
    out.write_text(json.dumps({"machine": machine_info(), "results": results}, indent=2), encoding="utf-8")
    console.print(f"wrote {out}")


def _fmt(value: float | None, unit: str = "") -> str:
    return "–" if value is None else f"{value:.2f}{unit}"
