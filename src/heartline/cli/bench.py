"""`heartline bench ...`: measure speed and memory of pipeline stages on this machine."""

from __future__ import annotations

import typer

from heartline.cli import app

bench_app = typer.Typer(help="Benchmark pipeline stages (latency, throughput, memory).", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
