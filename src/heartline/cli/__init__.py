"""The `heartline` command: one Typer app composed of sub-apps, one module each.

Errors reach the person as one or two plain lines (what went wrong, then what to do) with a
non-zero exit status; the traceback is shown only with `heartline --debug ...` or
HEARTLINE_DEBUG=1.
"""

from __future__ import annotations

import logging
import os
import sys

import typer
from rich.console import Console
from rich.markup import escape

from heartline.errors import HeartlineError

app = typer.Typer(
    name="heartline",
    help="Multimodal emotional-support conversations, and the toolkit to train and evaluate them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)

MODEL_LIBRARIES = {"safetensors", "onnxruntime", "ctranslate2", "tokenizers", "xllamacpp", "ai_edge_litert"}
"""Libraries whose errors while loading mean a damaged or wrong model file."""
MODEL_HINT = ("a model file may be damaged: `heartline models verify` finds it, "
              "`heartline models fetch NAME --force` replaces it")
EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
_debug = False


def debugging() -> bool:
    """True with `--debug` or HEARTLINE_DEBUG set to anything but '', 0, false, no or off."""
    return _debug or os.environ.get("HEARTLINE_DEBUG", "").strip().lower() not in ("", "0", "false", "no", "off")


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages."),
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of an error (or set HEARTLINE_DEBUG=1)."),
) -> None:
    global _debug
    _debug = debug or _debug
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def _register() -> None:
    """Attach each command module's sub-app. Modules register themselves on import."""
    from heartline.cli import commands  # noqa: F401


def _safe_terminal() -> None:
    """Never die on text the terminal encoding cannot take: undecodable input bytes stay
    readable (surrogateescape), and whatever cannot be printed is shown escaped."""
    for stream, errors in ((sys.stdin, "surrogateescape"), (sys.stdout, "backslashreplace"),
                           (sys.stderr, "backslashreplace")):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors=errors)
            except (ValueError, OSError):  # a closed or unusual stream: leave it as it is
                pass


def error_lines(exc: BaseException) -> str:
    """What the person sees for `exc`: the message, then a hint line saying what to do."""
    from pydantic import ValidationError

    from heartline.privacy import shown

    from heartline.errors import ModelError

    if isinstance(exc, ModelError) and not exc.hint:
        return shown(f"{exc}\n  hint: {MODEL_HINT}")
    if isinstance(exc, HeartlineError):
        return shown(exc)
    if isinstance(exc, ValidationError):
        from heartline.config import problems

        return shown(f"invalid value: {'; '.join(problems(exc))}")
    if isinstance(exc, MemoryError):
        return "ran out of memory\n  hint: close other programs, or use a smaller model (`heartline models list`)"
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return shown(f"{exc.strerror}{where}\n  hint: check the path, free disk space and permissions")
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if type(exc).__module__.split(".")[0].lstrip("_") in MODEL_LIBRARIES:
        return shown(f"a model file could not be loaded ({type(exc).__name__}: {detail[:300]})\n  hint: {MODEL_HINT}")
    return shown(
        f"unexpected {type(exc).__name__}{': ' + detail[:300] if detail else ''}\n"
        "  hint: run again with `heartline --debug ...` for the details, and report it if it persists"
    )


def main() -> None:
    _safe_terminal()
    _register()
    try:
        app()
    except KeyboardInterrupt:
        if debugging():
            raise
        err_console.print("[dim]interrupted[/]")
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # noqa: BLE001  (every error becomes a plain message; --debug re-raises)
        if debugging():
            raise
        message, _, hint = error_lines(exc).partition("\n")
        err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
        if hint:
            err_console.print(escape(hint), style="dim", highlight=False, soft_wrap=True)
        sys.exit(EXIT_ERROR)
