"""`heartline chat`: a supportive conversation in the terminal.

Each turn runs under its session's turn lock, so two `heartline chat --session S` at once take
turns instead of losing one; a turn that fails (an empty message) leaves no empty session.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from heartline.cli import app, debugging, error_lines
from heartline.cli._options import (
    AudioOption, BackendOption, BaseUrlOption, ImageOption, LocaleOption, ModelOption, PlannerOption,
    VideoOption, observation_from, settings_with,
)
from heartline.errors import HeartlineError
from heartline.memory.store import check_session_id
from heartline.privacy import shown
from heartline.schema import Observation, Turn, new_id

if TYPE_CHECKING:
    from heartline.supporter import Supporter

log = logging.getLogger(__name__)
console = Console()
status_console = Console(stderr=True)


@app.command()
def chat(
    once: Annotated[Optional[str], typer.Option("--once", help="Run one scripted turn with this message, then exit.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="With --once: print the whole Turn as JSON.")] = False,
    session: Annotated[Optional[str], typer.Option("--session", "-s", help="Continue this stored conversation.")] = None,
    model: ModelOption = None,
    backend: BackendOption = None,
    base_url: BaseUrlOption = None,
    planner: PlannerOption = None,
    locale: LocaleOption = None,
    audio: AudioOption = None,
    video: VideoOption = None,
    image: ImageOption = None,
) -> None:
    """Talk with heartline. Each turn shows your emotion, the strategy and tone it chose, then its reply."""
    from heartline.supporter import Supporter

    if session is not None:
        check_session_id(session)  # before loading any model
    settings = settings_with(model, backend, base_url, planner, locale)
    status_console.print("[dim]Loading models (the first run fetches them)…[/]")
    supporter = Supporter.from_settings(settings)
    with supporter:
        _converse(supporter, session or new_id(), once, as_json, {"audio": audio, "video": video, "image": image})


def _converse(supporter: Supporter, session_id: str, once: str | None, as_json: bool,
              media: dict[str, Path | None]) -> None:
    """One scripted turn (--once or media), or the interactive loop."""
    if once is not None or any(media.values()):
        observation = observation_from(session_id, once, **media)
        if as_json:
            turn = respond_serialised(supporter, observation)
            typer.echo(turn.model_dump_json(indent=2))
        else:
            _show_turn(supporter, observation)
        return

    sid, model = escape(shown(session_id)), escape(shown(supporter.backend.model))
    console.print(
        f"[bold magenta]heartline[/] · session [cyan]{sid}[/] · model [cyan]{model}[/]\n"
        "[dim]Say whatever is on your mind. /quit to leave (the conversation is saved; "
        f"resume with `heartline chat --session {sid}`).[/]"
    )
    earlier = supporter.store.turns(session_id) if supporter.store.has_session(session_id) else []
    for turn in earlier[-3:]:
        console.print(f"[dim]you › {escape(turn.perception.transcript)}\nheartline › {escape(turn.reply.text)}[/]")
    while True:
        try:
            text = console.input("[bold green]you ›[/] ").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            break
        if text in ("/quit", "/exit", "/q"):
            break
        if not text:
            continue
        try:
            _show_turn(supporter, observation_from(session_id, text))
        except HeartlineError as exc:
            console.print(f"[red]{escape(shown(exc))}[/]")
        except Exception as exc:  # noqa: BLE001  (the conversation goes on; --debug shows the traceback)
            if debugging():
                raise
            console.print(f"[red]{escape(error_lines(exc))}[/]\n[dim]that message was not answered or stored; "
                          "you can send it again[/]")


def respond_serialised(supporter: Supporter, observation: Observation, **callbacks: object) -> Turn:
    """`supporter.respond` under the session's turn lock (turns of one session never overlap,
    across processes too); when the turn fails, a session it created is not left behind empty."""
    store = supporter.store
    session_id = observation.session_id
    with store.turn_lock(session_id):
        existed = store.has_session(session_id)
        try:
            return supporter.respond(observation, **callbacks)  # type: ignore[arg-type]
        except BaseException:
            if not existed:
                _drop_if_empty(supporter, session_id)
            raise


def _drop_if_empty(supporter: Supporter, session_id: str) -> None:
    try:
        if supporter.store.has_session(session_id) and not supporter.store.turns(session_id):
            supporter.store.delete_session(session_id)
    except HeartlineError as exc:  # never hide the turn's own error behind this one
        log.warning("could not remove the empty session %s: %s", shown(session_id), exc)


def _show_turn(supporter: Supporter, observation: Observation) -> Turn:
    """Run a turn, showing each stage as it completes and streaming the reply."""
    streamed: list[str] = []

    def on_stage(stage: str, record: object) -> None:
        if stage == "perception" and record.cues:
            console.print(f"[dim]cues: {escape(record.cues)}[/]")
        elif stage == "plan":
            console.print(
                f"[dim]you seem [bold]{record.user_emotion}[/] · strategy [bold]{escape(record.strategy)}[/]"
                f" · tone [bold]{record.system_emotion}[/][/]"
            )
        elif stage == "blocked":
            streamed.clear()
        elif stage == "retry":
            streamed.clear()
            if record is not None:
                console.print(f"[dim]that reply repeated an earlier one; strategy [bold]{escape(record.strategy)}[/] "
                              "instead[/]")

    with Live(Text("heartline › ", style="bold magenta"), console=console, transient=True,
              refresh_per_second=20) as live:
        def on_token(delta: str) -> None:
            streamed.append(delta)
            live.update(Text.assemble(("heartline › ", "bold magenta"), "".join(streamed)))

        turn = respond_serialised(supporter, observation, on_token=on_token, on_stage=on_stage)
    if turn.safety.level != "none":
        console.print(f"[yellow]risk level: {turn.safety.level} ({escape(', '.join(turn.safety.categories))})[/]")
    console.print(Text.assemble(("heartline › ", "bold magenta"), turn.reply.text))
    if turn.reply.blocked:
        console.print(f"[dim yellow]the model's reply failed the safety screen ({escape(turn.reply.blocked)}); "
                      "this was a safe reply instead[/]")
    elif turn.reply.fallback:
        console.print(f"[dim yellow]the model could not answer ({escape(turn.reply.error or '')}); "
                      "this was a safe fallback reply[/]")
    return turn
