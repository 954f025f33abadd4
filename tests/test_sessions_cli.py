"""`heartline sessions list | show | export | delete` on a store made for the test."""

from __future__ import annotations

import json
import os
import stat
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


# --------------------------------------------------------------------------- what a person typed is text


MARKUP = "I said [/] and [bold]this[/bold] and [link=file:///etc]x"


def test_markup_in_messages_and_ids_is_shown_as_text(stored: tuple[SessionStore, str]) -> None:
    store, _ = stored
    sid = store.create_session("odd[/]id")
    store.append_turn(make_turn(sid, 0, text=MARKUP, reply="Reply [/red] too"))
    listed = runner.invoke(app, ["sessions", "list"])
    assert listed.exit_code == 0, listed.output
    assert "odd[/]id" in listed.output and "I said [/] and [bold]this[/bold]" in listed.output
    shown = runner.invoke(app, ["sessions", "show", sid])
    assert shown.exit_code == 0, shown.output
    assert "Reply [/red] too" in shown.output and f"Session {sid}" in shown.output
    deleted = runner.invoke(app, ["sessions", "delete", sid, "--yes"])
    assert deleted.exit_code == 0, deleted.output
    assert "Deleted session odd[/]id (1 turns)." in deleted.output and not store.has_session(sid)


# --------------------------------------------------------------------------- safe exports


def _export(sid: str, out: Path | str) -> object:
    return runner.invoke(app, ["sessions", "export", sid, "--out", str(out)])


def _special_files(folder: Path) -> list[Path]:
    """A FIFO, and (where allowed) copies of the /dev/null and /dev/full device nodes, made in
    `folder`: never the real devices, so that a broken export cannot damage the machine."""
    made = []
    fifo = folder / "pipe"
    os.mkfifo(fifo)
    made.append(fifo)
    for name, minor in (("null", 3), ("full", 7)):
        try:
            os.mknod(folder / name, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
        except (PermissionError, OSError):
            continue  # not root: the FIFO stands for them
        made.append(folder / name)
    return made


def test_export_never_replaces_a_device_or_a_pipe(stored: tuple[SessionStore, str], tmp_path: Path) -> None:
    _, sid = stored
    for special in _special_files(tmp_path):
        before = special.lstat()
        result = _export(sid, special)
        assert result.exit_code != 0 and "not a regular file" in str(result.exception)
        after = special.lstat()
        assert not stat.S_ISREG(after.st_mode) and (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
    assert not list(tmp_path.glob("*.partial")) and not list(tmp_path.glob(".*.partial"))


def test_export_never_writes_through_or_replaces_a_link(stored: tuple[SessionStore, str], tmp_path: Path) -> None:
    _, sid = stored
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep me")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    result = _export(sid, link)
    assert result.exit_code != 0 and "symbolic link" in str(result.exception)
    assert link.is_symlink() and target.read_text() == "keep me"


@pytest.mark.parametrize("where", ["folder", "under-a-file"])
def test_export_to_a_folder_or_under_a_file_is_a_clear_error_and_leaves_nothing(
    stored: tuple[SessionStore, str], tmp_path: Path, where: str,
) -> None:
    _, sid = stored
    (tmp_path / "a-file").write_text("x")
    out = tmp_path / "a-folder" if where == "folder" else tmp_path / "a-file" / "s.json"
    (tmp_path / "a-folder").mkdir()
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = _export(sid, out)
    assert isinstance(result.exception, HeartlineError), result.exception
    assert ("is a folder" if where == "folder" else "is a file, not a folder") in str(result.exception)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before, "no .partial or other file left behind"


def test_export_is_private_and_atomic(stored: tuple[SessionStore, str], tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _, sid = stored
    out = tmp_path / "exports" / "s.json"
    out.parent.mkdir()
    out.write_text("an older export")
    os.chmod(out, 0o644)
    assert _export(sid, out).exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and json.loads(out.read_text())["session"]["id"] == sid

    import heartline.privacy as privacy

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(privacy.os, "fsync", disk_full)
    result = _export(sid, out)
    assert "No space left on device" in str(result.exception)
    assert json.loads(out.read_text())["session"]["id"] == sid, "the earlier export is intact"
    assert [p.name for p in out.parent.iterdir()] == ["s.json"], "no temporary file left behind"


# --------------------------------------------------------------------------- delete --all


def test_delete_all_asks_then_removes_every_session(stored: tuple[SessionStore, str]) -> None:
    store, sid = stored
    other = store.create_session()
    store.append_turn(make_turn(other, 0))
    declined = runner.invoke(app, ["sessions", "delete", "--all"], input="n\n")
    assert declined.exit_code != 0 and len(store.list_sessions()) == 2
    assert "Delete all 2 sessions and their 3 turns?" in declined.output
    result = runner.invoke(app, ["sessions", "delete", "--all"], input="y\n")
    assert result.exit_code == 0 and "Deleted 2 sessions (3 turns)." in result.output
    assert store.list_sessions() == []
    assert runner.invoke(app, ["sessions", "list"]).output.startswith("No stored sessions")


def test_delete_needs_an_id_or_all(stored: tuple[SessionStore, str]) -> None:
    _, sid = stored
    for args in ([], [sid, "--all"]):
        result = runner.invoke(app, ["sessions", "delete", *args, "--yes"])
        assert "give either a session id or --all" in str(result.exception)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("existing", [False, True])
def test_the_home_and_the_store_are_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: bool) -> None:
    home = tmp_path / "home"
    if existing:  # as an earlier version left it
        home.mkdir(mode=0o755)
        os.chmod(home, 0o755)
    monkeypatch.delenv("HEARTLINE_STORE_URL", raising=False)
    monkeypatch.setenv("HEARTLINE_HOME", str(home))
    monkeypatch.setenv("HEARTLINE_CONFIG", str(tmp_path / "none.toml"))
    assert runner.invoke(app, ["sessions", "list"]).exit_code == 0
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "sessions.db").stat().st_mode) == 0o600


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_making_things_private_never_touches_a_device(tmp_path: Path) -> None:
    from heartline.privacy import tighten

    for special in _special_files(tmp_path):
        mode = stat.S_IMODE(special.lstat().st_mode)
        tighten(special)
        assert stat.S_IMODE(special.lstat().st_mode) == mode
