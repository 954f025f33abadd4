"""`heartline sessions list | show | export | delete` on a store made for the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_memory_store import make_turn
from typer.testing import CliRunner

import heartline.cli.sessions  # noqa: F401  (registers the sub-app)
from heartline.cli import app
from heartline.errors import HeartlineError
from heartline.memory.store import SessionStore

runner = CliRunner()


@pytest.fixture
def stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[SessionStore, str]:
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    monkeypatch.setenv("HEARTLINE_STORE_URL", url)
    monkeypatch.setenv("COLUMNS", "200")
    store = SessionStore(url)
    sid = store.create_session()
    store.append_turn(make_turn(sid, 0, text="My exam went badly", emotion="fear", strategy="Question"))
    store.append_turn(make_turn(sid, 1, text="I want to end it", reply="Please call 988 now.", crisis=True))
    yield store, sid
    store.close()


def test_list_shows_sessions(stored: tuple[SessionStore, str]) -> None:
    _, sid = stored
    result = runner.invoke(app, ["sessions", "list"])
    assert result.exit_code == 0, result.output
    assert sid in result.output and "My exam went badly" in result.output


def test_show_has_emotions_strategy_risk_and_texts(stored: tuple[SessionStore, str]) -> None:
    _, sid = stored
    result = runner.invoke(app, ["sessions", "show", sid])
    assert result.exit_code == 0, result.output
    for expected in ("fear", "Question", "sadness", "crisis", "My exam went badly", "Please call 988 now."):
        assert expected in result.output


def test_export_to_file_and_stdout(stored: tuple[SessionStore, str], tmp_path: Path) -> None:
    store, sid = stored
    out = tmp_path / "out" / "session.json"
    result = runner.invoke(app, ["sessions", "export", sid, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text()) == json.loads(json.dumps(store.export_session(sid)))
    printed = runner.invoke(app, ["sessions", "export", sid])
    assert json.loads(printed.stdout)["turns"][1]["safety"]["level"] == "crisis"


def test_delete_asks_unless_yes(stored: tuple[SessionStore, str]) -> None:
    store, sid = stored
    declined = runner.invoke(app, ["sessions", "delete", sid], input="n\n")
    assert declined.exit_code != 0 and store.has_session(sid)
    result = runner.invoke(app, ["sessions", "delete", sid, "--yes"])
    assert result.exit_code == 0 and "2 turns" in result.output
    assert not store.has_session(sid)


def test_unknown_session_is_an_error_with_a_hint(stored: tuple[SessionStore, str]) -> None:
    result = runner.invoke(app, ["sessions", "show", "nope"])
    assert isinstance(result.exception, HeartlineError)
    assert "heartline sessions list" in str(result.exception)


def test_show_cuts_long_texts_and_points_to_export(stored: tuple[SessionStore, str]) -> None:
    store, sid = stored
    store.append_turn(make_turn(sid, 2, text="long " * 2_000 + "TAIL-MARK"))
    result = runner.invoke(app, ["sessions", "show", sid])
    assert result.exit_code == 0, result.output
    assert "TAIL-MARK" not in result.output and f"heartline sessions export {sid}" in result.output
