"""The database: one engine per process, migrated on open, safe for several writer processes.

SQLite runs in WAL mode with a busy timeout, and every transaction starts with
BEGIN IMMEDIATE: a writer waits for the lock instead of failing half-way when another
process (a second `brainrouter mcp`, the daemon) writes at the same moment.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from review import migrations
from review.errors import ReviewUnavailable

_BUSY_TIMEOUT_S = 30.0


class StoreError(RuntimeError):
    """The database cannot be opened or migrated; the message says which and why."""


class StoreFull(ReviewUnavailable):
    """The disk (or the database's size limit) is full: the write was rolled back whole."""


# SQLite's result code and PostgreSQL's SQLSTATE for "no space left".
_SQLITE_FULL = sqlite3.SQLITE_FULL
_PG_DISK_FULL = "53100"


def _is_full(exc: DBAPIError) -> bool:
    orig = exc.orig
    return (
        getattr(orig, "sqlite_errorcode", None) == _SQLITE_FULL
        or getattr(orig, "sqlstate", None) == _PG_DISK_FULL
    )


def make_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(database_url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        database_url,
        connect_args={"timeout": _BUSY_TIMEOUT_S, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN, not the sqlite3 module.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Store:
    """Owns the engine; hands out short transactions."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        try:
            self.engine = make_engine(database_url)
            with self.engine.begin() as conn:
                self.applied_migrations = migrations.migrate(conn)
        except Exception as exc:
            raise StoreError(f"cannot open database {_safe_url(database_url)}: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits as one unit, or not at all."""
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                yield session
        except DBAPIError as exc:
            if _is_full(exc):
                raise StoreFull(
                    "the review database's disk is full: nothing was written and nothing stored "
                    "was lost; free some space and call again"
                ) from exc
            raise

    def upsert(self, db: Session, table: Any, values: dict[str, Any], keys: list[str]) -> None:
        """Insert or update one row atomically: two processes setting the same key at once
        must not collide (SQLite serialises writers, PostgreSQL does not)."""
        statement = self._insert(table, values)
        update = {k: v for k, v in values.items() if k not in keys}
        db.exec(statement.on_conflict_do_update(index_elements=keys, set_=update))  # type: ignore[call-overload]

    def insert_absent(self, db: Session, table: Any, values: dict[str, Any]) -> None:
        """Insert one row unless its key exists (the first writer wins), atomically."""
        db.exec(self._insert(table, values).on_conflict_do_nothing())  # type: ignore[call-overload]

    def _insert(self, table: Any, values: dict[str, Any]) -> Any:
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        return insert(table.__table__).values(**values)

    def schema_version(self) -> int:
        with self.engine.begin() as conn:
            return migrations.current_version(conn)

    def close(self) -> None:
        self.engine.dispose()


def _safe_url(database_url: str) -> str:
    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database_url>"
