"""`heartline sessions list | show | export | delete`: the stored conversations.

The store is `Settings().session_url` (SQLite under HEARTLINE_HOME unless
HEARTLINE_STORE_URL names another database). Everything a person wrote is shown as plain
text, never read as terminal markup. Exports are owner-only files written atomically, and
never replace a device, a link or a folder.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from heartline.cli import app
from heartline.config import Settings
from heartline.errors import HeartlineError
from heartline.memory.store import SessionStore
from heartline.privacy import check_writable_target, private_dir, shown, write_private
from heartline.schema import RiskLevel

sessions_app = typer.Typer(help="List, show, export and delete stored conversations.", no_args_is_help=True)
app.add_typer(sessions_app, name="sessions")

console = Console()
RISK_STYLES = {RiskLevel.NONE: "", RiskLevel.ELEVATED: "yellow", RiskLevel.CRISIS: "bold red"}
SHOW_CHARS = 1000
"""Longer texts are cut in `show`; `export` has them whole."""


def _store() -> SessionStore:
    settings = Settings()
    if settings.store_url is None:
        private_dir(settings.home)
    return SessionStore(settings.session_url)


def _plain(text: str) -> Text:
    """Stored text as a table cell: shown as it is, never parsed as markup."""
    return Text(shown(text))


def _time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


def _clip(text: str) -> str:
    return text if len(text) <= SHOW_CHARS else text[: SHOW_CHARS - 1] + "…"


@sessions_app.command("list")
def list_sessions(limit: int = typer.Option(50, "--limit", "-n", min=1, help="Show at most this many, newest first.")) -> None:
    """The stored conversations, most recently updated first."""
    with _store() as store:
        sessions = store.list_sessions(limit)
    if not sessions:
        console.print("No stored sessions yet. Start one with `heartline chat`.")
        return
    table = Table(title="Sessions")
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("updated (UTC)", no_wrap=True)
    table.add_column("turns", justify="right")
    table.add_column("first message")
    for info in sessions:
        table.add_row(_plain(info.id), _time(info.updated_at), str(info.turn_count), _plain(info.title))
    console.print(table)


@sessions_app.command("show")
def show(session_id: str = typer.Argument(..., help="Session id (see `heartline sessions list`).")) -> None:
    """Every turn of a conversation: emotions, strategy, risk level and the texts."""
    with _store() as store:
        info = store.get_session(session_id)
        turns = store.turns(session_id)
    table = Table(title=Text(f"Session {shown(info.id)} · {info.turn_count} turns · started {_time(info.created_at)} UTC"))
    table.add_column("#", justify="right")
    table.add_column("user emotion")
    table.add_column("strategy")
    table.add_column("system emotion")
    table.add_column("risk")
    table.add_column("user", ratio=1)
    table.add_column("heartline", ratio=1)
    for turn in turns:
        plan = turn.plan
        level = turn.safety.level
        table.add_row(
            str(turn.index),
            _plain(turn.perception.user_emotion or (plan.user_emotion if plan else "–")),
            _plain(plan.strategy if plan else "–"),
            _plain(plan.system_emotion if plan else "–"),
            Text(level.value, style=RISK_STYLES[level]),
            _plain(_clip(turn.perception.transcript)),
            _plain(_clip(turn.reply.text)),
        )
    console.print(table)
    if any(len(t.perception.transcript) > SHOW_CHARS or len(t.reply.text) > SHOW_CHARS for t in turns):
        console.print(Text(f"Long texts are cut; `heartline sessions export {shown(session_id)}` has them whole."))


@sessions_app.command("export")
def export(
    session_id: str = typer.Argument(..., help="Session id (see `heartline sessions list`)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the JSON here instead of stdout."),
) -> None:
    """A conversation and all its turns as JSON (a file only its owner can read)."""
    if out is not None:
        check_writable_target(out)  # fail before reading anything
    with _store() as store:
        data = store.export_session(session_id)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        return
    write_private(out, text.encode("utf-8"))
    Console(stderr=True).print(Text(f"Wrote {len(data['turns'])} turns of session {shown(session_id)} to {shown(out)}"))


@sessions_app.command("delete")
def delete(
    session_id: str | None = typer.Argument(None, help="Session id (see `heartline sessions list`)."),
    every: bool = typer.Option(False, "--all", help="Delete every stored conversation."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a conversation and all its turns (or, with --all, every one), for good.

    The deleted text is overwritten in the database file too, not only unlinked."""
    if every == (session_id is not None):
        raise HeartlineError("give either a session id or --all",
                             hint="`heartline sessions delete ID`, or `heartline sessions delete --all`")
    with _store() as store:
        if every:
            sessions = store.list_sessions(limit=None)
            turns = sum(info.turn_count for info in sessions)
            if not yes and not typer.confirm(f"Delete all {len(sessions)} sessions and their {turns} turns?"):
                raise typer.Abort()
            removed, deleted = store.delete_all()
            console.print(f"Deleted {removed} sessions ({deleted} turns).")
            return
        assert session_id is not None
        info = store.get_session(session_id)
        if not yes and not typer.confirm(f"Delete session {shown(session_id)} and its {info.turn_count} turns?"):
            raise typer.Abort()
        deleted = store.delete_session(session_id)
    console.print(Text(f"Deleted session {shown(session_id)} ({deleted} turns)."))
