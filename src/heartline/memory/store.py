"""The session store: every completed turn, committed durably, in SQLite or PostgreSQL.

One row per session and one per turn. A turn row holds the whole `Turn` as JSON plus a few
indexed columns (user emotion, strategy, system emotion, risk level) for queries. Each
`append_turn` is its own transaction, committed before it returns; on SQLite the database
runs in WAL mode with `synchronous=FULL`, so a killed process (or a power cut) loses no
turn whose append returned. Raw media bytes and samples are never written.
"""

from __future__ import annotations

import logging
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
    update,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from heartline.errors import DataFormatError, HeartlineError
from heartline.schema import Turn, new_id

log = logging.getLogger(__name__)

EXPORT_FORMAT = "heartline.session/1"
TITLE_CHARS = 80
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
    flat = " ".join(text.split())
    return flat if len(flat) <= TITLE_CHARS else flat[: TITLE_CHARS - 1].rstrip() + "…"


def turn_json(turn: Turn) -> dict[str, Any]:
    """The Turn as JSON-ready data, with raw media bytes and samples excluded explicitly.

    `Media` already excludes them from serialisation; the explicit exclusion and the check
    keep that true even if the record changes.
    """
    exclude = {"observation": {kind: _RAW_MEDIA for kind in _MEDIA_FIELDS}}
    data = turn.model_dump(mode="json", exclude=exclude)
    for kind in _MEDIA_FIELDS:
        media = data["observation"].get(kind)
        if media is not None and _RAW_MEDIA & set(media):
            raise HeartlineError(f"refusing to store raw {kind} in turn {turn.id}")
    return data


def _unknown_session(session_id: str) -> HeartlineError:
    return HeartlineError(
        f"no stored session '{session_id}'",
        hint="run `heartline sessions list` to see the stored sessions",
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL + synchronous=FULL: every commit is on disk before it returns."""
    # Let SQLAlchemy's `begin` event issue BEGIN itself (pysqlite's own is deferred-only).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """Write transactions take the write lock up front (BEGIN IMMEDIATE), so concurrent
    writers wait on `busy_timeout` instead of failing when a read lock cannot be upgraded."""
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        try:
            return create_engine(url, pool_pre_ping=True)
        except ImportError as exc:
            raise HeartlineError(
                f"the database driver for {parsed.drivername} is not installed ({exc})",
                hint="for PostgreSQL: pip install 'heartline[postgres]' and use a postgresql+psycopg:// URL",
            ) from exc
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        folder = Path(database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HeartlineError(
                f"cannot create the session store folder {folder}: {exc}",
                hint="set HEARTLINE_HOME (or HEARTLINE_STORE_URL) to a writable place",
            ) from exc
        engine = create_engine(url)
    else:
        engine = create_engine(url, connect_args={"check_same_thread": False}, poolclass=StaticPool)
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


class SessionStore:
    """Stored conversations behind a SQLAlchemy URL (default: SQLite at `Settings().session_url`).

    Safe for several processes writing at once (SQLite serialises writers; PostgreSQL
    rows are independent). Creating the schema is idempotent and cheap.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = _make_engine(url)
        self._writer = self._engine.execution_options(sqlite_begin="IMMEDIATE")
        self._ensure_schema()

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
        """
        session_id = session_id or new_id()
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
        with self._read() as conn:
            return self._title(conn, session_id) is not None

    def get_session(self, session_id: str) -> SessionInfo:
        """The session's details; HeartlineError when it is not stored."""
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
        """Delete the session and its turns; returns how many turns were deleted."""
        with self._write() as conn:
            self._require(conn, session_id)
            deleted = conn.execute(delete(turns_table).where(turns_table.c.session_id == session_id)).rowcount
            conn.execute(delete(sessions_table).where(sessions_table.c.id == session_id))
        log.debug("deleted session %s (%d turns)", session_id, deleted)
        return deleted

    # ----------------------------------------------------------------------- turns

    def append_turn(self, turn: Turn) -> None:
        """Store a completed turn durably. Its index must be new in its session."""
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

    def turns(self, session_id: str) -> list[Turn]:
        """The session's turns in order; HeartlineError when the session is not stored."""
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
