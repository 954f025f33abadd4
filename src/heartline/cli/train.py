"""`heartline train ...`: train the project's models."""

from __future__ import annotations

import typer

from heartline.cli import app

train_app = typer.Typer(help="Train models.", no_args_is_help=True)
app.add_typer(train_app, name="train")
