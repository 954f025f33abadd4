"""`heartline chat`: a supportive conversation in the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from heartline.cli import app
from heartline.cli._options import (
    AudioOption, BackendOption, BaseUrlOption, ImageOption, LocaleOption, ModelOption, PlannerOption,
    VideoOption, observation_from, settings_with,
)
from heartline.errors import HeartlineError
from heartline.schema import Observation, Turn, new_id

if TYPE_CHECKING:
    from heartline.supporter import Supporter

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
            turn = supporter.respond(observation)
            typer.echo(turn.model_dump_json(indent=2))
        else:
            _show_turn(supporter, observation)
        return

    console.print(
        f"[bold magenta]heartline[/] · session [cyan]{session_id}[/] · model [cyan]{supporter.backend.model}[/]\n"
        "[dim]Say whatever is on your mind. /quit to leave (the conversation is saved; "
        f"resume with `heartline chat --session {session_id}`).[/]"
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
            console.print(f"[red]{escape(str(exc))}[/]")


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

        turn = supporter.respond(observation, on_token=on_token, on_stage=on_stage)
    if turn.safety.level != "none":
        console.print(f"[yellow]risk level: {turn.safety.level} ({', '.join(turn.safety.categories)})[/]")
    console.print(Text.assemble(("heartline › ", "bold magenta"), turn.reply.text))
    if turn.reply.blocked:
        console.print(f"[dim yellow]the model's reply failed the safety screen ({escape(turn.reply.blocked)}); "
                      "this was a safe reply instead[/]")
    elif turn.reply.fallback:
        console.print(f"[dim yellow]the model could not answer ({escape(turn.reply.error or '')}); "
                      "this was a safe fallback reply[/]")
    return turn
