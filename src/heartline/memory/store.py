"""The session store: every completed turn, committed durably, in SQLite or PostgreSQL.

One row per session and one per turn. A turn row holds the whole `Turn` as JSON plus a few
indexed columns (user emotion, strategy, system emotion, risk level) for queries. Each
`append_turn` is its own transaction, committed before it returns; on SQLite the database
runs in WAL mode with `synchronous=FULL`, so a killed process (or a power cut) loses no
turn whose append returned. Raw media bytes and samples are never written.

Turns of one session are serialised across threads and processes by `turn_lock` (a lock file
per session next to a SQLite database, an advisory lock on PostgreSQL): a turn that reads the
history and appends under it always sees the turns before it and takes the next index.

Private by default: a SQLite database and its WAL files are owner-only (0600), in a folder
created owner-only; deleted sessions are overwritten in the file (secure_delete) and the WAL
is emptied, so their text does not linger on disk.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from heartline.errors import DataFormatError, HeartlineError
from heartline.locking import FileLock
from heartline.privacy import PRIVATE_DIR, PRIVATE_FILE, private_dir, shown, tighten
from heartline.schema import Turn, new_id, valid_unicode

log = logging.getLogger(__name__)

EXPORT_FORMAT = "heartline.session/1"
TITLE_CHARS = 80
MAX_ID_CHARS = 64
TURN_LOCK_TIMEOUT_S = 900.0
"""How long a turn waits for another turn of the same session (a long spoken turn on a slow
model takes minutes) before giving up with a clear error."""
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
_MEDIA_FIELDS = ("audio", "video", "image")
_RAW_MEDIA = {"data", "samples"}

metadata = MetaData()

sessions_table = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, index=True),
    Column("title", String(TITLE_CHARS * 4), nullable=False, default=""),
    Column("meta", JSON, nullable=False),
)

turns_table = Table(
    "turns",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("session_id", String(64), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("turn_index", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("user_emotion", String(32), index=True),
    Column("strategy", String(64), index=True),
    Column("system_emotion", String(32), index=True),
    Column("risk_level", String(16), nullable=False, index=True),
    Column("data", JSON, nullable=False),
    UniqueConstraint("session_id", "turn_index", name="uq_turns_session_index"),
)


class SessionInfo(BaseModel):
    """A stored conversation: when, what about, and how many turns."""

    id: str
    created_at: datetime
    updated_at: datetime
    title: str = ""
    """A preview of the first message."""
    meta: dict[str, Any] = Field(default_factory=dict)
    turn_count: int = 0


def _utc(value: datetime) -> datetime:
    """SQLite drops time zones; every stored time is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _preview(text: str) -> str:
    """The title: the first words, on one line, printable (no control characters)."""
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in valid_unicode(text[: TITLE_CHARS * 4]))
    flat = " ".join(text.split())
    return flat if len(flat) <= TITLE_CHARS else flat[: TITLE_CHARS - 1].rstrip() + "…"


def turn_json(turn: Turn) -> dict[str, Any]:
    """The Turn as JSON-ready data, with raw media bytes and samples excluded explicitly.

    `Media` already excludes them from serialisation; the explicit exclusion and the check
    keep that true even if the record changes.
    """
    exclude = {"observation": {kind: _RAW_MEDIA for kind in _MEDIA_FIELDS}}
    data = _valid_strings(turn.model_dump(mode="json", exclude=exclude))
    for kind in _MEDIA_FIELDS:
        media = data["observation"].get(kind)
        if media is not None and _RAW_MEDIA & set(media):
            raise HeartlineError(f"refusing to store raw {kind} in turn {turn.id}")
    return data


def _valid_strings(value: Any) -> Any:
    """`value` with every string's lone surrogates (which no database encoding takes) made
    U+FFFD; valid text is returned unchanged."""
    if isinstance(value, str):
        return valid_unicode(value)
    if isinstance(value, dict):
        return {_valid_strings(k): _valid_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_valid_strings(v) for v in value]
    return value


def _unknown_session(session_id: str) -> HeartlineError:
    return HeartlineError(
        f"no stored session '{shown(session_id)}'",
        hint="run `heartline sessions list` to see the stored sessions",
    )


def session_id_problem(session_id: object) -> str | None:
    """What keeps `session_id` from naming a new session, or None when it can: 1 to 64
    characters, none of them control, invisible-format or undecodable, no surrounding spaces."""
    if not isinstance(session_id, str) or not session_id:
        return "it is empty"
    if len(session_id) > MAX_ID_CHARS:
        return f"it is longer than {MAX_ID_CHARS} characters"
    if session_id != session_id.strip():
        return "it starts or ends with a space"
    for ch in session_id:
        category = unicodedata.category(ch)
        if category == "Cs":
            return "it holds bytes that are not valid UTF-8"
        if category in ("Cc", "Cf", "Co", "Cn", "Zl", "Zp"):
            return f"it holds the invisible or control character U+{ord(ch):04X}"
    return None


def check_session_id(session_id: str) -> str:
    """`session_id` when it can name a session (see `session_id_problem`); HeartlineError if not."""
    problem = session_id_problem(session_id)
    if problem is not None:
        raise HeartlineError(
            f"'{shown(session_id)}' cannot be a session id: {problem}",
            hint=f"use up to {MAX_ID_CHARS} letters, digits and punctuation, or leave --session out for a new one",
        )
    return session_id


def _storable(session_id: str) -> bool:
    """False for ids no database can hold (undecodable characters, NUL): never stored."""
    return isinstance(session_id, str) and "\x00" not in session_id and not any(
        "\ud800" <= ch <= "\udfff" for ch in session_id)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL + synchronous=FULL: every commit is on disk before it returns."""
    # Let SQLAlchemy's `begin` event issue BEGIN itself (pysqlite's own is deferred-only).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA secure_delete = ON")  # deleted conversations are overwritten, not left in free pages
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """Write transactions take the write lock up front (BEGIN IMMEDIATE), so concurrent
    writers wait on `busy_timeout` instead of failing when a read lock cannot be upgraded."""
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    if mode != "NONE":  # NONE: statements that must run outside a transaction (VACUUM, checkpoints)
        conn.exec_driver_sql(f"BEGIN {mode}")


def _sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL, None for other databases and in-memory ones."""
    parsed = make_url(url)
    database = parsed.database or ""
    if not parsed.drivername.startswith("sqlite") or not database or database == ":memory:" \
            or database.startswith("file:"):
        return None
    return Path(database)


def _private_database(path: Path) -> None:
    """Create the SQLite file owner-only before SQLite does (its WAL and shared-memory files
    copy its permissions); make an existing one and its side files owner-only."""
    if os.name != "posix":
        return
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        pass
    except OSError:
        return  # SQLite reports what is wrong with the place when it opens it
    for candidate in (path, *(path.with_name(path.name + side) for side in _SQLITE_SIDE_FILES)):
        tighten(candidate)


def _make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise HeartlineError(
            f"'{shown(url)}' is not a database URL",
            hint="set HEARTLINE_STORE_URL to e.g. sqlite:////path/sessions.db or postgresql+psycopg://USER@HOST/DB",
        ) from exc
    if not parsed.drivername.startswith("sqlite"):
        try:
            return create_engine(url, pool_pre_ping=True)
        except ImportError as exc:
            raise HeartlineError(
                f"the database driver for {parsed.drivername} is not installed ({exc})",
                hint="for PostgreSQL: pip install 'heartline[postgres]' and use a postgresql+psycopg:// URL",
            ) from exc
    database = _sqlite_file(url)
    if database is not None:
        private_dir(database.expanduser().parent)
        _private_database(database)
        engine = create_engine(url)
    else:
        engine = create_engine(url, connect_args={"check_same_thread": False}, poolclass=StaticPool)
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


class SessionStore:
    """Stored conversations behind a SQLAlchemy URL (default: SQLite at `Settings().session_url`).

    Safe for several processes writing at once (SQLite serialises writers; PostgreSQL
    rows are independent); `turn_lock` serialises whole turns of one session. Creating the
    schema is idempotent and cheap.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = _make_engine(url)
        self._writer = self._engine.execution_options(sqlite_begin="IMMEDIATE")
        self._held = threading.local()
        self._memory_locks: dict[str, threading.Lock] = {}
        self._memory_locks_guard = threading.Lock()
        self._ensure_schema()
        database = _sqlite_file(url)
        if database is not None:
            _private_database(database)  # the WAL files exist now

    # ----------------------------------------------------------------------- turn lock

    @contextmanager
    def turn_lock(self, session_id: str, timeout_s: float = TURN_LOCK_TIMEOUT_S) -> Iterator[None]:
        """Hold the session's turn lock: no other thread or process runs a turn of `session_id`
        (reads its history, answers, appends) until the block ends.

        Re-entrant in one thread. SQLite file: a lock file per session in `<database>.locks/`;
        PostgreSQL: a session-level advisory lock; in-memory SQLite: a lock in this process.
        HeartlineError after `timeout_s` of waiting.
        """
        held: dict[str, int] = self._held.__dict__.setdefault("depth", {})
        if held.get(session_id):
            held[session_id] += 1
            try:
                yield
            finally:
                held[session_id] -= 1
            return
        with self._acquire_turn_lock(session_id, timeout_s):
            held[session_id] = 1
            try:
                yield
            finally:
                held.pop(session_id, None)

    @contextmanager
    def _acquire_turn_lock(self, session_id: str, timeout_s: float) -> Iterator[None]:
        digest = hashlib.sha256(f"heartline.session:{session_id}".encode("utf-8", "surrogatepass")).digest()
        database = _sqlite_file(self.url)
        waiting = f"another heartline turn of session {shown(session_id)} is running; waiting for it"
        if database is not None:
            folder = database.with_name(database.name + ".locks")
            try:
                if not folder.is_dir():
                    folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)
            except OSError as exc:
                raise HeartlineError(f"cannot create the lock folder {shown(folder)}: {exc}",
                                     hint="check that the session store's folder is writable") from exc
            lock = _TurnFileLock(folder / f"{digest.hex()[:32]}.lock", session_id, timeout_s, waiting)
            with lock:
                yield
        elif self._engine.dialect.name == "postgresql":
            with self._advisory_lock(int.from_bytes(digest[:8], "big", signed=True), session_id, timeout_s, waiting):
                yield
        else:
            with self._memory_locks_guard:
                local = self._memory_locks.setdefault(session_id, threading.Lock())
            if not local.acquire(timeout=timeout_s):
                raise _lock_timeout(session_id, timeout_s)
            try:
                yield
            finally:
                local.release()

    @contextmanager
    def _advisory_lock(self, key: int, session_id: str, timeout_s: float, waiting: str) -> Iterator[None]:
        """A PostgreSQL session-level advisory lock on `key`, held on a connection of its own."""
        conn = self._engine.connect()
        try:
            deadline = time.monotonic() + timeout_s
            announced = False
            while not conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar():
                conn.rollback()
                if not announced:
                    log.warning("%s", waiting)
                    announced = True
                if time.monotonic() > deadline:
                    raise _lock_timeout(session_id, timeout_s)
                time.sleep(0.2)
            conn.commit()
        except OperationalError as exc:
            conn.close()
            raise self._failure(exc) from exc
        except BaseException:
            conn.close()
            raise
        try:
            yield
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()
            except SQLAlchemyError:
                conn.invalidate()  # ends the server session, which releases the lock
            conn.close()

    def _ensure_schema(self) -> None:
        """Create missing tables. A second try covers another process creating them between
        our check and our CREATE."""
        try:
            metadata.create_all(self._writer, checkfirst=True)
        except SQLAlchemyError as first:
            log.debug("creating the schema failed (%s); checking again", first)
            try:
                metadata.create_all(self._writer, checkfirst=True)
            except SQLAlchemyError as exc:
                raise HeartlineError(
                    f"cannot open the session store at {make_url(self.url).render_as_string()}: {exc}",
                    hint="check that HEARTLINE_STORE_URL (or HEARTLINE_HOME) names a reachable, writable database",
                ) from exc

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One transaction, committed durably on leaving the block."""
        try:
            with self._writer.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise self._failure(exc) from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise self._failure(exc) from exc

    def _failure(self, exc: OperationalError) -> HeartlineError:
        return HeartlineError(
            f"the session store at {make_url(self.url).render_as_string()} failed: {exc.orig}",
            hint="check free disk space, and that the database is reachable and not locked by another program",
        )

    # ----------------------------------------------------------------------- sessions

    def create_session(
        self, session_id: str | None = None, meta: dict[str, Any] | None = None, *, exist_ok: bool = False
    ) -> str:
        """Store a new, empty session and return its id (a fresh one unless given).

        With `exist_ok`, an already stored session is kept as it is (its meta unchanged).
        HeartlineError when `session_id` cannot name a session (see `session_id_problem`).
        """
        session_id = check_session_id(session_id) if session_id is not None else new_id()
        now = _now()
        try:
            with self._write() as conn:
                if exist_ok and self._title(conn, session_id) is not None:
                    return session_id
                conn.execute(
                    insert(sessions_table).values(
                        id=session_id, created_at=now, updated_at=now, title="", meta=meta or {}
                    )
                )
        except IntegrityError as exc:
            if exist_ok:
                return session_id
            raise HeartlineError(
                f"session '{session_id}' already exists",
                hint=f"continue it with `--session {session_id}`, or pick another id",
            ) from exc
        log.debug("created session %s", session_id)
        return session_id

    def has_session(self, session_id: str) -> bool:
        if not _storable(session_id):
            return False
        with self._read() as conn:
            return self._title(conn, session_id) is not None

    def get_session(self, session_id: str) -> SessionInfo:
        """The session's details; HeartlineError when it is not stored."""
        if not _storable(session_id):
            raise _unknown_session(session_id)
        sessions = self._session_infos(sessions_table.c.id == session_id, limit=1)
        if not sessions:
            raise _unknown_session(session_id)
        return sessions[0]

    def list_sessions(self, limit: int | None = 50) -> list[SessionInfo]:
        """The most recently updated sessions first."""
        return self._session_infos(None, limit=limit)

    def _session_infos(self, where: Any, limit: int | None) -> list[SessionInfo]:
        counts = (
            select(turns_table.c.session_id, func.count().label("n"))
            .group_by(turns_table.c.session_id)
            .subquery()
        )
        query = (
            select(sessions_table, func.coalesce(counts.c.n, 0).label("turn_count"))
            .outerjoin(counts, counts.c.session_id == sessions_table.c.id)
            .order_by(sessions_table.c.updated_at.desc(), sessions_table.c.id)
        )
        if where is not None:
            query = query.where(where)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            SessionInfo(
                id=row["id"],
                created_at=_utc(row["created_at"]),
                updated_at=_utc(row["updated_at"]),
                title=row["title"] or "",
                meta=row["meta"] or {},
                turn_count=row["turn_count"],
            )
            for row in rows
        ]

    def delete_session(self, session_id: str) -> int:
        """Delete the session and its turns; returns how many turns were deleted.

        Their text is overwritten in the database file and the WAL is emptied, so it does not
        linger on disk."""
        with self._write() as conn:
            self._require(conn, session_id)
            deleted = conn.execute(delete(turns_table).where(turns_table.c.session_id == session_id)).rowcount
            conn.execute(delete(sessions_table).where(sessions_table.c.id == session_id))
        self._scrub()
        log.debug("deleted session %s (%d turns)", session_id, deleted)
        return deleted

    def delete_all(self) -> tuple[int, int]:
        """Delete every session and turn, and compact the database so that none of their text
        remains in it; returns (sessions, turns) deleted."""
        with self._write() as conn:
            turns = conn.execute(delete(turns_table)).rowcount
            sessions = conn.execute(delete(sessions_table)).rowcount
        self._scrub(compact=True)
        log.debug("deleted all %d sessions (%d turns)", sessions, turns)
        return sessions, turns

    def _scrub(self, compact: bool = False) -> None:
        """SQLite: move the WAL into the database and empty it (deleted pages were zeroed by
        secure_delete); with `compact`, rebuild the file too. Best effort: a reader holding an
        old snapshot delays it to the next delete."""
        if self._engine.dialect.name != "sqlite" or _sqlite_file(self.url) is None:
            return
        try:
            with self._engine.connect().execution_options(sqlite_begin="NONE") as conn:
                if compact:
                    conn.exec_driver_sql("VACUUM")
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except SQLAlchemyError as exc:
            log.warning("could not compact the session store after deleting: %s", exc)

    # ----------------------------------------------------------------------- turns

    def append_turn(self, turn: Turn, *, create_session: bool = False) -> None:
        """Store a completed turn durably. Its index must be new in its session.

        With `create_session`, a session not stored yet is created in the same transaction, so
        a session row exists only once it has a turn (a failed first turn leaves nothing).
        """
        if create_session:
            check_session_id(turn.session_id)
        if turn.index < 0:
            raise HeartlineError(f"turn index must be >= 0, got {turn.index}")
        data = turn_json(turn)
        plan = turn.plan
        row = {
            "id": turn.id,
            "session_id": turn.session_id,
            "turn_index": turn.index,
            "created_at": _utc(turn.created_at),
            "user_emotion": turn.perception.user_emotion or (plan.user_emotion if plan else None),
            "strategy": plan.strategy if plan else None,
            "system_emotion": plan.system_emotion if plan else None,
            "risk_level": turn.safety.level.value,
            "data": data,
        }
        try:
            with self._write() as conn:
                if create_session and self._title(conn, turn.session_id) is None:
                    now = _now()
                    conn.execute(insert(sessions_table).values(
                        id=turn.session_id, created_at=now, updated_at=now, title="", meta={}))
                title = self._require(conn, turn.session_id)
                conn.execute(insert(turns_table).values(**row))
                changes: dict[str, Any] = {"updated_at": _now()}
                if not title:
                    changes["title"] = _preview(turn.perception.transcript or turn.observation.text or "")
                conn.execute(update(sessions_table).where(sessions_table.c.id == turn.session_id).values(**changes))
        except IntegrityError as exc:
            raise HeartlineError(
                f"session '{turn.session_id}' already has a turn {turn.index} (or turn id {turn.id} is taken)",
                hint="number new turns with `SessionStore.next_index(session_id)`",
            ) from exc
        log.debug("stored turn %s #%d of session %s", turn.id, turn.index, turn.session_id)

    def turns(self, session_id: str, *, missing_ok: bool = False) -> list[Turn]:
        """The session's turns in order; HeartlineError when the session is not stored (unless
        `missing_ok`: then no turns)."""
        if missing_ok and not self.has_session(session_id):
            return []
        with self._read() as conn:
            self._require(conn, session_id)
            rows = conn.execute(
                select(turns_table.c.turn_index, turns_table.c.data)
                .where(turns_table.c.session_id == session_id)
                .order_by(turns_table.c.turn_index)
            ).all()
        turns = []
        for index, data in rows:
            try:
                turns.append(Turn.model_validate(data))
            except ValidationError as exc:
                raise DataFormatError(self.url, f"session {session_id}, turn {index}", None, str(exc)) from exc
        return turns

    def next_index(self, session_id: str) -> int:
        """The index the session's next turn takes (0 for an empty session)."""
        with self._read() as conn:
            self._require(conn, session_id)
            last = conn.execute(
                select(func.max(turns_table.c.turn_index)).where(turns_table.c.session_id == session_id)
            ).scalar()
        return 0 if last is None else last + 1

    def export_session(self, session_id: str) -> dict[str, Any]:
        """The session and all its turns as JSON-ready data."""
        info = self.get_session(session_id)
        return {
            "format": EXPORT_FORMAT,
            "session": info.model_dump(mode="json"),
            "turns": [turn_json(turn) for turn in self.turns(session_id)],
        }

    # ----------------------------------------------------------------------- helpers

    @staticmethod
    def _title(conn: Connection, session_id: str) -> str | None:
        """The session's title, None when it is not stored."""
        if not _storable(session_id):
            return None
        row = conn.execute(select(sessions_table.c.title).where(sessions_table.c.id == session_id)).first()
        return None if row is None else row[0] or ""

    def _require(self, conn: Connection, session_id: str) -> str:
        """The session's title; HeartlineError when it is not stored."""
        title = self._title(conn, session_id)
        if title is None:
            raise _unknown_session(session_id)
        return title

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _lock_timeout(session_id: str, timeout_s: float) -> HeartlineError:
    return HeartlineError(
        f"another turn of session {shown(session_id)} has been running for over {timeout_s:.0f} s",
        hint="wait for it to finish (or stop that heartline process), then send your message again",
    )


class _TurnFileLock(FileLock):
    def __init__(self, path: Path, session_id: str, timeout_s: float, waiting: str) -> None:
        super().__init__(path, timeout_s=timeout_s, poll_s=0.05, waiting=waiting, mode=PRIVATE_FILE)
        self.session_id = session_id

    def timeout_error(self) -> Exception:
        return _lock_timeout(self.session_id, self.timeout_s)
