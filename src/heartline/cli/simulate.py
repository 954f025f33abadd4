"""`heartline simulate`: role-card seekers talk to the pipeline; a judge LLM scores each dialogue."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from heartline.cli import app
from heartline.config import LLMSettings


def _llm(model: str, backend: str | None, base_url: str | None, **extra: object) -> LLMSettings:
    values: dict[str, object] = {"model": model, **extra}
    if backend:
        values["backend"] = backend
    if base_url:
        values["base_url"] = base_url
    return LLMSettings(**values)


@app.command("simulate")
def simulate(
    cards: Annotated[str, typer.Option(
        "--cards", help="ESC-Eval role cards (card_high_en.json layout), e.g. data/esc-eval/card_high_en.json.")],
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False, help="Run directory (rerun to resume).")],
    n: Annotated[int, typer.Option("--n", min=1, help="Number of role cards (the first N).")] = 20,
    turns: Annotated[int, typer.Option("--turns", min=1, help="Exchanges per dialogue.")] = 8,
    seeker_model: Annotated[str, typer.Option("--seeker-model", help="Role-playing seeker LLM.")] = "smollm2-135m",
    judge_model: Annotated[str, typer.Option("--judge-model", help="Judge LLM.")] = "qwen2.5-coder-1.5b",
    second_judge: Annotated[str | None, typer.Option(
        "--second-judge", help="Also score with this model and report the agreement between judges.")] = None,
    judge_repeats: Annotated[int, typer.Option(
        "--judge-repeats", min=1, max=5, help="Judgements per dialogue and judge (seeds differ); "
                                               "2 or more measures the judge's self-agreement.")] = 2,
    seeker_backend: Annotated[str | None, typer.Option("--seeker-backend", help="llama (default) or openai.")] = None,
    judge_backend: Annotated[str | None, typer.Option("--judge-backend", help="llama (default) or openai.")] = None,
    base_url: Annotated[str | None, typer.Option(
        "--base-url", help="OpenAI-compatible server for the openai seeker/judge backends.")] = None,
    system: Annotated[Path | None, typer.Option(
        "--system", exists=True, dir_okay=False, help="TOML settings overrides for the system under test.")] = None,
    planner: Annotated[str | None, typer.Option("--planner", help="System under test: trained or llm.")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="System under test's reply LLM.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the seeker and judge sampling.")] = 0,
) -> None:
    """Simulated seekers (ESC-Eval style) against the real pipeline, scored by a judge LLM."""
    from heartline.evaluation.runners import load_system
    from heartline.evaluation.simulate import SimulationConfig, run_simulation

    settings = load_system(system)
    if model:
        settings.llm = settings.llm.model_copy(update={"model": model})
    if planner:
        if planner not in ("trained", "llm"):
            raise typer.BadParameter("choose 'trained' or 'llm'", param_hint="--planner")
        settings.planner = settings.planner.model_copy(update={"method": planner})
    judges = [_llm(judge_model, judge_backend, base_url, temperature=0.7, max_tokens=120, n_ctx=4096)]
    if second_judge:
        judges.append(_llm(second_judge, judge_backend, base_url, temperature=0.7, max_tokens=120, n_ctx=4096))
    config = SimulationConfig(
        n=n, turns=turns, seed=seed, judge_repeats=judge_repeats, judges=judges,
        seeker=_llm(seeker_model, seeker_backend, base_url, temperature=0.8, max_tokens=80),
    )
    console = Console()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        def progress(description: str, total: int):
            task = bar.add_task(description, total=total)
            return lambda k: bar.advance(task, k)

        summary = run_simulation(cards, out, config, settings, progress)

    table = Table(title=f"{summary['n_dialogues']} simulated dialogues × {turns} turns (scores 0-4)")
    table.add_column("dimension")
    judges_found = summary["scores"]["judges"]
    for judge in judges_found:
        table.add_column(judge, justify="right")
    for key in summary["dimensions"]:
        table.add_row(key, *(f"{judges_found[j]['dimensions'][key]['mean']:.2f}" for j in judges_found))
    table.add_row("unscored", *(str(judges_found[j]["unscored_judgements"]) for j in judges_found))
    console.print(table)
    for judge, values in summary["scores"]["self_agreement"].items():
        pooled = values["pooled"]
        console.print(f"{judge} self-agreement over {pooled['n']} score pairs: exact {pooled['exact']:.0%}, "
                      f"within one {pooled['within_one']:.0%}, quadratic kappa {pooled['quadratic_kappa']:.2f}")
    for pair, pooled in summary["scores"]["cross_agreement"].items():
        console.print(f"{pair}: exact {pooled['exact']:.0%}, within one {pooled['within_one']:.0%}, "
                      f"quadratic kappa {pooled['quadratic_kappa']:.2f}")
    console.print(f"[yellow]{summary['reliability_note']}[/]")
    console.print(f"wrote {out / 'transcripts.jsonl'}, {out / 'scores.jsonl'}, {out / 'summary.json'}, "
                  f"{out / 'report.html'}")
