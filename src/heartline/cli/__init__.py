"""The `heartline` command: one Typer app composed of sub-apps, one module each."""

from __future__ import annotations

import logging
import sys

import typer
from rich.console import Console

from heartline.errors import HeartlineError

app = typer.Typer(
    name="heartline",
    help="Multimodal emotional-support conversations, and the toolkit to train and evaluate them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages.")) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def _register() -> None:
    """Attach each command module's sub-app. Modules register themselves on import."""
    from heartline.cli import commands  # noqa: F401


def main() -> None:
    _register()
    try:
        app()
    except HeartlineError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        sys.exit(1)
