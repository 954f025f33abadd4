"""`heartline models list | fetch | verify | path | card`: the model catalogue and cache."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from heartline import models
from heartline.cli import app
from heartline.config import Settings
from heartline.models.cache import progress_bar

sub = typer.Typer(
    help="List, fetch, verify and locate the models heartline uses.", no_args_is_help=True
)
app.add_typer(sub, name="models")
console = Console()


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


@sub.command("list")
def list_cmd() -> None:
    """The catalogue: every named model, its role, size, licence and whether it is cached."""
    table = Table(title=f"models (cache: {Settings().models_dir})")
    table.add_column("name", no_wrap=True)
    for column in ("role", "model", "size", "licence", "cached"):
        table.add_column(column)
    for status in models.list_models():
        spec = status.spec
        cached = {"complete": "[green]yes[/]", "damaged": "[red]damaged[/]"}.get(status.state, "[dim]no[/]")
        table.add_row(spec.name, spec.role, spec.title, _mb(spec.size), spec.licence, cached)
    console.print(table)


@sub.command("fetch")
def fetch_cmd(
    names: Annotated[
        list[str], typer.Argument(help="Catalogue names (see `heartline models list`).")
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Download and assemble again even if cached.")
    ] = False,
) -> None:
    """Download, verify and unpack models into the cache (with a progress bar)."""
    for name in names:
        models.get_spec(name)  # fail on a typo before downloading anything
    for name in names:
        started = time.perf_counter()
        already = not force and models.is_fetched(name)
        models.fetch(name, force=force)
        took = "already cached" if already else f"fetched in {time.perf_counter() - started:.1f} s"
        console.print(f"[green]✓[/] {name}: {took} → {models.path(name)}")


@sub.command("verify")
def verify_cmd(
    names: Annotated[
        list[str] | None, typer.Argument(help="Models to re-hash; default: every cached model.")
    ] = None,
) -> None:
    """Re-hash cached files against the catalogue; exits 1 on any mismatch."""
    for name in names or []:
        models.get_spec(name)  # a typo is an error before any hashing
    targets = names or [s.spec.name for s in models.list_models() if s.state != "missing"]
    if not targets:
        console.print("no models are cached yet; fetch one with `heartline models fetch NAME`")
        return
    table = Table(title="verify")
    for column in ("model", "file", "status", "sha256"):
        table.add_column(column)
    bad: list[str] = []
    results = []
    with progress_bar(True) as tracker:
        for name in targets:
            on_bytes = tracker(f"verify {name}", models.get_spec(name).size)
            results.append(models.verify(name, on_bytes=on_bytes))
    for name, result in zip(targets, results, strict=True):
        if not result.fetched:
            table.add_row(name, "", "[yellow]not fetched[/]", "")
            bad.append(name)
            continue
        for check in result.files:
            colour = "green" if check.status == "ok" else "red"
            shown = (check.actual or "")[:16]
            table.add_row(name, check.path, f"[{colour}]{check.status}[/]", shown)
        if not result.ok:
            bad.append(name)
    console.print(table)
    if bad:
        console.print(
            f"[red]{len(bad)} model(s) failed verification.[/] Fix with: "
            f"[bold]heartline models fetch {' '.join(bad)} --force[/]"
        )
        raise typer.Exit(1)


@sub.command("path")
def path_cmd(name: str) -> None:
    """Print where a model's file or directory lives in the cache (whether or not it is fetched)."""
    typer.echo(str(models.path(name)))


@sub.command("card")
def card_cmd(name: str) -> None:
    """Print a model's card: what it is, what it is good for, its limits, source and licence."""
    spec = models.get_spec(name)
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row("role", spec.role)
    facts.add_row("upstream", spec.upstream)
    facts.add_row("licence", f"{spec.licence}. {spec.licence_note}")
    facts.add_row("size", f"{_mb(spec.size)} ({_mb(spec.download_size)} to download)")
    facts.add_row("packages", ", ".join(f"{p.name}=={p.version}" for p in spec.packages))
    facts.add_row("files", ", ".join(f.path for f in spec.files))
    console.print(
        Panel(Group(Text(spec.card), Text(""), facts), title=f"{spec.name}: {spec.title}")
    )
