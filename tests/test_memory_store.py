"""The session store: round trips, durability under SIGKILL, concurrent writers, errors."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from heartline.errors import HeartlineError
from heartline.memory.store import SessionStore, metadata, turns_table
from heartline.schema import (
    EmotionEstimate,
    Media,
    Observation,
    Perception,
    Plan,
    Reply,
    RiskLevel,
    SafetyCheck,
    Turn,
)

TESTS_DIR = Path(__file__).resolve().parent
POSTGRES_URL = os.environ.get("HEARTLINE_TEST_POSTGRES_URL")


def make_turn(
    session_id: str,
    index: int,
    text: str = "I lost my job today and I feel useless.",
    reply: str = "I'm so sorry. Losing a job can shake how we see ourselves.",
    emotion: str = "sadness",
    strategy: str = "Reflection of feelings",
    reason: str = "They lost their job and feel useless.",
    crisis: bool = False,
) -> Turn:
    """A complete turn as the pipeline would produce it (a crisis turn has no plan)."""
    observation = Observation(session_id=session_id, text=text)
    perception = Perception(transcript=text, fused=EmotionEstimate.one_hot(emotion, "fused", 0.8, "test"))
    if crisis:
        safety = SafetyCheck(level=RiskLevel.CRISIS, categories=["suicide"], evidence=["end it"], protocol="crisis/en-US")
        plan = None
    else:
        safety = SafetyCheck()
        plan = Plan(user_emotion=emotion, strategy=strategy, system_emotion="sadness", reason=reason, source="llm")
    return Turn(
        session_id=session_id,
        index=index,
        observation=observation,
        perception=perception,
        safety=safety,
        plan=plan,
        reply=Reply(text=reply, backend="test", model="none"),
        stage_seconds={"plan": 0.1},
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "sessions.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, db_path: Path) -> SessionStore:
    """The store on SQLite, and on PostgreSQL when HEARTLINE_TEST_POSTGRES_URL names a database."""
    if request.param == "sqlite":
        url = f"sqlite:///{db_path}"
    elif not POSTGRES_URL:
        pytest.skip("set HEARTLINE_TEST_POSTGRES_URL=postgresql+psycopg://USER@HOST/DB to test on PostgreSQL")
    else:
        url = POSTGRES_URL
        engine = create_engine(url)
        metadata.drop_all(engine)
        engine.dispose()
    with SessionStore(url) as opened:
        yield opened


def stored_rows(store: SessionStore) -> list[str]:
    """The turns table as the database holds it, bypassing the store."""
    engine = create_engine(store.url)
    with engine.connect() as conn:
        rows = [str(tuple(row)) for row in conn.execute(select(turns_table))]
    engine.dispose()
    return rows


def test_turn_round_trips_exactly(store: SessionStore) -> None:
    sid = store.create_session(meta={"model": "smollm2-135m"})
    turns = [make_turn(sid, 0), make_turn(sid, 1, text="Ça va très mal 😞", crisis=True)]
    for turn in turns:
        store.append_turn(turn)
    assert store.turns(sid) == turns
    info = store.get_session(sid)
    assert info.turn_count == 2
    assert info.meta == {"model": "smollm2-135m"}
    assert info.title == "I lost my job today and I feel useless."
    assert info.updated_at >= info.created_at


def test_raw_media_is_never_stored(store: SessionStore) -> None:
    sid = store.create_session()
    turn = make_turn(sid, 0)
    secret = b"RAW-AUDIO-BYTES-" * 64
    turn.observation.audio = Media(kind="audio", data=secret, samples=[0.25] * 100, sample_rate=16000)
    turn.observation.image = Media(kind="image", data=b"\x89PNG-RAW-IMAGE", mime="image/png")
    store.append_turn(turn)
    dumped = "\n".join(stored_rows(store))
    assert "RAW-AUDIO-BYTES" not in dumped and "PNG-RAW-IMAGE" not in dumped and "0.25" not in dumped
    stored = store.turns(sid)[0].observation
    assert stored.audio is not None and stored.audio.data is None and stored.audio.samples is None
    assert stored.audio.sample_rate == 16000 and stored.image is not None and stored.image.mime == "image/png"


def test_indices_are_unique_per_session(store: SessionStore) -> None:
    a, b = store.create_session(), store.create_session()
    assert store.next_index(a) == 0
    store.append_turn(make_turn(a, 0))
    store.append_turn(make_turn(b, 0))  # the same index in another session is fine
    with pytest.raises(HeartlineError, match="already has a turn 0"):
        store.append_turn(make_turn(a, 0))
    store.append_turn(make_turn(a, 1))
    assert store.next_index(a) == 2 and store.next_index(b) == 1
    assert [t.index for t in store.turns(a)] == [0, 1]


def test_session_ids_given_or_fresh(store: SessionStore) -> None:
    assert store.create_session("my-talk") == "my-talk"
    assert store.has_session("my-talk") and not store.has_session("other")
    with pytest.raises(HeartlineError, match="already exists"):
        store.create_session("my-talk")
    store.append_turn(make_turn("my-talk", 0))
    assert store.create_session("my-talk", meta={"new": 1}, exist_ok=True) == "my-talk"
    assert store.get_session("my-talk").turn_count == 1 and store.get_session("my-talk").meta == {}
    assert store.create_session("fresh", exist_ok=True) == "fresh" and store.has_session("fresh")
    assert store.create_session() != store.create_session()


@pytest.mark.parametrize("call", ["get_session", "turns", "next_index", "delete_session", "export_session"])
def test_unknown_session_says_how_to_find_one(store: SessionStore, call: str) -> None:
    with pytest.raises(HeartlineError, match="no stored session 'missing'") as info:
        getattr(store, call)("missing")
    assert "heartline sessions list" in str(info.value)


def test_appending_to_unknown_session_fails_and_stores_nothing(store: SessionStore) -> None:
    with pytest.raises(HeartlineError, match="heartline sessions list"):
        store.append_turn(make_turn("missing", 0))
    assert stored_rows(store) == []


def test_export_is_json_ready_and_delete_removes_everything(store: SessionStore) -> None:
    sid = store.create_session()
    keep = store.create_session()
    for i in range(3):
        store.append_turn(make_turn(sid, i))
    store.append_turn(make_turn(keep, 0))
    exported = json.loads(json.dumps(store.export_session(sid)))
    assert exported["format"] == "heartline.session/1"
    assert exported["session"]["id"] == sid and exported["session"]["turn_count"] == 3
    assert [Turn.model_validate(t) for t in exported["turns"]] == store.turns(sid)
    assert store.delete_session(sid) == 3
    assert not store.has_session(sid)
    assert [s.id for s in store.list_sessions()] == [keep]
    assert len(stored_rows(store)) == 1


def test_list_newest_first_with_limit(store: SessionStore) -> None:
    ids = [store.create_session() for _ in range(3)]
    store.append_turn(make_turn(ids[0], 0))  # updating makes it the newest
    listed = store.list_sessions()
    assert [s.id for s in listed] == [ids[0], ids[2], ids[1]]
    assert [s.turn_count for s in listed] == [1, 0, 0]
    assert len(store.list_sessions(limit=2)) == 2


def test_reopening_keeps_data_and_schema_creation_is_idempotent(db_path: Path) -> None:
    url = f"sqlite:///{db_path}"
    with SessionStore(url) as first:
        sid = first.create_session()
        first.append_turn(make_turn(sid, 0))
    for _ in range(2):
        with SessionStore(url) as again:
            assert [t.index for t in again.turns(sid)] == [0]
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_in_memory_store_works(tmp_path: Path) -> None:
    with SessionStore("sqlite://") as store:
        sid = store.create_session()
        store.append_turn(make_turn(sid, 0))
        assert len(store.turns(sid)) == 1


def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(HeartlineError, match="HEARTLINE_HOME"):
        SessionStore(f"sqlite:///{blocker}/sessions.db")


# ------------------------------------------------------------------- other processes

_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from test_memory_store import make_turn
    from heartline.memory.store import SessionStore

    url, sid, count, big, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
    store = SessionStore(url)
    while not go.exists():
        time.sleep(0.01)
    i = 0
    while count < 0 or i < count:
        text = "word " * big if big and i % 2 else f"message {{i}}"
        print("start", i, flush=True)
        store.append_turn(make_turn(sid, i, text=text))
        print("done", i, flush=True)
        i += 1
    """
).format(tests=str(TESTS_DIR))


def _writer(url: str, sid: str, count: int, big: int, go: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, url, sid, str(count), str(big), str(go)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigkill_mid_append_loses_no_completed_turn(db_path: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{db_path}"
    with SessionStore(url) as store:
        sid = store.create_session()
    go = tmp_path / "go"
    go.touch()
    # Every other turn carries ~2 MB of text, so the process is killed inside a long append.
    child = _writer(url, sid, -1, 400_000, go)
    done = -1
    try:
        assert child.stdout is not None
        for line in child.stdout:
            event, index = line.split()
            if event == "done":
                done = int(index)
            elif event == "start" and int(index) >= 9 and int(index) % 2:
                time.sleep(0.02)
                break
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert done >= 8, child.stderr.read() if child.stderr else ""
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with SessionStore(url) as reopened:
        indices = [t.index for t in reopened.turns(sid)]
        # All reported turns are there; the one in flight is either whole or absent.
        assert indices == list(range(len(indices))) and len(indices) >= done + 1
        reopened.append_turn(make_turn(sid, reopened.next_index(sid)))
        assert len(reopened.turns(sid)) == len(indices) + 1


def test_two_processes_append_concurrently(db_path: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{db_path}"
    with SessionStore(url) as store:
        sids = [store.create_session(), store.create_session()]
    go = tmp_path / "go"
    children = [_writer(url, sid, 40, 2_000, go) for sid in sids]
    time.sleep(0.5)  # let both import and open the store, then start them together
    go.touch()
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
    with SessionStore(url) as store:
        for sid in sids:
            assert [t.index for t in store.turns(sid)] == list(range(40))
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# ------------------------------------------------------------------- session ids


@pytest.mark.parametrize(("session_id", "problem"), [
    ("", "empty"), ("x" * 65, "longer than 64"), (" padded", "space"), ("a\x00b", "U+0000"),
    ("a\nb", "U+000A"), ("a\u200bb", "U+200B"), ("ab\udcff", "not valid UTF-8"),
])
def test_unusable_session_ids_are_refused_with_the_reason(store: SessionStore, session_id: str, problem: str) -> None:
    with pytest.raises(HeartlineError, match="cannot be a session id") as err:
        store.create_session(session_id)
    assert problem in str(err.value)
    assert not store.has_session(session_id)
    with pytest.raises(HeartlineError, match="no stored session"):
        store.turns(session_id)
    assert store.list_sessions() == []


@pytest.mark.parametrize("session_id", ["../../etc/passwd", "x'; DROP TABLE turns; --", "ünïcödé 会话 😊", "a" * 64])
def test_odd_but_printable_session_ids_work(store: SessionStore, session_id: str) -> None:
    store.create_session(session_id)
    store.append_turn(make_turn(session_id, 0))
    assert [t.session_id for t in store.turns(session_id)] == [session_id]


def test_a_bad_store_url_is_a_clear_error() -> None:
    with pytest.raises(HeartlineError, match="is not a database URL") as err:
        SessionStore("not a url at all")
    assert "HEARTLINE_STORE_URL" in (err.value.hint or "")


# ------------------------------------------------------------------- first turn creates the session


def test_a_first_turn_can_create_its_session_in_the_same_transaction(store: SessionStore) -> None:
    assert store.turns("fresh", missing_ok=True) == []
    assert not store.has_session("fresh"), "reading creates nothing"
    store.append_turn(make_turn("fresh", 0, text="Hello there"), create_session=True)
    assert [t.index for t in store.turns("fresh")] == [0]
    assert store.get_session("fresh").title == "Hello there"
    store.append_turn(make_turn("fresh", 1), create_session=True)  # already there: just appends
    assert store.get_session("fresh").turn_count == 2
    with pytest.raises(HeartlineError, match="cannot be a session id"):
        store.append_turn(make_turn("bad\x00id", 0), create_session=True)


# ------------------------------------------------------------------- private by default


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_the_database_and_its_wal_files_are_owner_only(tmp_path: Path) -> None:
    folder = tmp_path / "new-home"
    db = folder / "sessions.db"
    with SessionStore(f"sqlite:///{db}") as store:
        store.append_turn(make_turn("p", 0), create_session=True)
        files = [db, db.with_name("sessions.db-wal"), db.with_name("sessions.db-shm")]
        assert all(f.exists() for f in files)
        assert [_mode(f) for f in files] == [0o600] * 3
        assert _mode(folder) == 0o700, "a folder the store creates is owner-only"
        locks = db.with_name("sessions.db.locks")
        with store.turn_lock("p"):
            assert _mode(locks) == 0o700 and {_mode(f) for f in locks.iterdir()} == {0o600}


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_an_existing_readable_database_is_made_private(tmp_path: Path) -> None:
    db = tmp_path / "sessions.db"
    with SessionStore(f"sqlite:///{db}") as store:
        store.append_turn(make_turn("p", 0), create_session=True)
    for f in tmp_path.glob("sessions.db*"):
        if f.is_file():
            os.chmod(f, 0o644)
    with SessionStore(f"sqlite:///{db}") as store:
        assert len(store.turns("p")) == 1
    assert {_mode(f) for f in tmp_path.glob("sessions.db*") if f.is_file()} == {0o600}


def _on_disk(folder: Path, needle: bytes) -> list[str]:
    return [f.name for f in folder.iterdir() if f.is_file() and needle in f.read_bytes()]


def test_deleted_text_does_not_linger_in_the_files(tmp_path: Path) -> None:
    db = tmp_path / "sessions.db"
    with SessionStore(f"sqlite:///{db}") as store:
        store.append_turn(make_turn("gone", 0, text="SECRET-DIAGNOSIS " * 40), create_session=True)
        store.append_turn(make_turn("kept", 0, text="KEPT-MESSAGE"), create_session=True)
        assert _on_disk(tmp_path, b"SECRET-DIAGNOSIS")
        store.delete_session("gone")
        assert _on_disk(tmp_path, b"SECRET-DIAGNOSIS") == []
        assert [t.perception.transcript for t in store.turns("kept")] == ["KEPT-MESSAGE"]
        assert store.delete_all() == (1, 1)
        assert _on_disk(tmp_path, b"KEPT-MESSAGE") == [] and store.list_sessions() == []


# ------------------------------------------------------------------- the turn lock


def test_the_turn_lock_serialises_threads_and_is_reentrant(db_path: Path) -> None:
    import threading

    first, second = SessionStore(f"sqlite:///{db_path}"), SessionStore(f"sqlite:///{db_path}")
    order: list[str] = []
    inside = threading.Event()

    def hold() -> None:
        with first.turn_lock("s"), first.turn_lock("s"):  # re-entrant in one thread
            inside.set()
            time.sleep(0.4)
            order.append("first done")

    worker = threading.Thread(target=hold)
    worker.start()
    inside.wait(5)
    with second.turn_lock("other"):
        order.append("another session does not wait")
    with second.turn_lock("s"):
        order.append("second")
    worker.join()
    assert order == ["another session does not wait", "first done", "second"]


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from heartline.memory.store import SessionStore
    store = SessionStore(sys.argv[1])
    with store.turn_lock(sys.argv[2]):
        Path(sys.argv[3]).touch()
        time.sleep(float(sys.argv[4]))
    """
)


def _hold_in_another_process(url: str, sid: str, seconds: float, tmp_path: Path) -> subprocess.Popen[bytes]:
    marker = tmp_path / "held"
    child = subprocess.Popen([sys.executable, "-c", _HOLDER, url, sid, str(marker), str(seconds)])
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    return child


def test_the_turn_lock_serialises_processes_and_times_out_clearly(store: SessionStore, tmp_path: Path) -> None:
    child = _hold_in_another_process(store.url, "shared", 1.5, tmp_path)
    try:
        with pytest.raises(HeartlineError, match="another turn of session shared") as err:
            with store.turn_lock("shared", timeout_s=0.2):
                pass
        assert "wait for it to finish" in (err.value.hint or "")
        started = time.monotonic()
        with store.turn_lock("shared"):
            waited = time.monotonic() - started
        assert waited > 0.5, "the second process waited for the first"
    finally:
        child.wait(timeout=60)


def test_a_killed_holder_releases_the_turn_lock(store: SessionStore, tmp_path: Path) -> None:
    child = _hold_in_another_process(store.url, "k", 60, tmp_path)
    child.send_signal(signal.SIGKILL)
    child.wait()
    with store.turn_lock("k", timeout_s=10):
        pass
