"""Routing events (P10): one row per proxied request, kept to a configurable count.

Recording is off the request path: events queue in memory and a background task writes them
in batches. SQLite batches are written on the loop through the driver with a 50 ms busy
timeout (a busy database sends the batch back to the queue); pruning the oldest, which may
wait for another process's lock, runs in the recorder's own thread, as every PostgreSQL write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, text

from proxy import ledger

log = logging.getLogger("brainrouter.events")

_metadata = sa.MetaData()
routing_events = sa.Table(
    "routing_events",
    _metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("client_protocol", sa.String(16)),
    sa.Column("harness", sa.String(64)),
    sa.Column("requested_model", sa.String(256)),
    sa.Column("mode", sa.String(16)),
    sa.Column("decision", sa.String(16)),
    sa.Column("reason", sa.Text),
    sa.Column("score", sa.Float),
    sa.Column("upstream", sa.String(16)),
    sa.Column("model", sa.String(256)),
    sa.Column("status", sa.String(32)),
    sa.Column("http_status", sa.Integer),
    sa.Column("fallback", sa.Boolean, nullable=False, default=False),
    sa.Column("fallback_reason", sa.Text),
    sa.Column("stream", sa.Boolean, nullable=False, default=False),
    sa.Column("decision_ms", sa.Float),
    sa.Column("first_byte_ms", sa.Float),
    sa.Column("total_ms", sa.Float),
    sa.Column("input_tokens", sa.Integer),
    sa.Column("output_tokens", sa.Integer),
    sa.Column("project_dir", sa.Text),
    sa.Column("prompt_excerpt", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("privacy", sa.Text),  # what the privacy guard did, and why (never the secret)
    sa.Column("cache_read_tokens", sa.Integer),  # of input_tokens, read from a prompt cache
    sa.Column("cache_write_tokens", sa.Integer),  # of input_tokens, written to one
    sa.Column("scenario", sa.String(16)),  # what kind of request it was (proxy/scenarios.py)
)

_COLUMNS = tuple(c.name for c in routing_events.columns)
_SQLITE_INSERT = f"INSERT INTO routing_events ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
_MAX_PENDING = 20_000
_BUSY_MS = 30_000  # the store's usual busy timeout, restored after an events write


def _sqlite_row(row: dict[str, Any]) -> tuple[Any, ...]:
    """Values as SQLAlchemy stores them in SQLite (UTC time as text, booleans as 0/1), so
    that reads through SQLAlchemy see the same as for rows it wrote."""
    created = row["created_at"].astimezone(UTC).replace(tzinfo=None)
    values = {
        **row,
        "created_at": created.isoformat(" ", "microseconds"),
        "fallback": int(row["fallback"]),
        "stream": int(row["stream"]),
    }
    return tuple(values[c] for c in _COLUMNS)


def _m001_routing_events(conn: Connection) -> None:
    conn.execute(
        text(
            """
            CREATE TABLE routing_events (
                id VARCHAR(32) PRIMARY KEY,
                created_at TIMESTAMP WITH TIME ZONE NOT NULL,
                client_protocol VARCHAR(16),
                harness VARCHAR(64),
                requested_model VARCHAR(256),
                mode VARCHAR(16),
                decision VARCHAR(16),
                reason TEXT,
                score DOUBLE PRECISION,
                upstream VARCHAR(16),
                model VARCHAR(256),
                status VARCHAR(32),
                http_status INTEGER,
                fallback BOOLEAN NOT NULL DEFAULT FALSE,
                fallback_reason TEXT,
                stream BOOLEAN NOT NULL DEFAULT FALSE,
                decision_ms DOUBLE PRECISION,
                first_byte_ms DOUBLE PRECISION,
                total_ms DOUBLE PRECISION,
                input_tokens INTEGER,
                output_tokens INTEGER,
                project_dir TEXT,
                prompt_excerpt TEXT,
                error TEXT
            )
            """
        )
    )
    conn.execute(text("CREATE INDEX ix_routing_events_created ON routing_events (created_at)"))


def _m002_privacy(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE routing_events ADD COLUMN privacy TEXT"))


def _m004_scenario(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE routing_events ADD COLUMN scenario VARCHAR(16)"))


# Applied by the daemon with review's migration runner, under proxy_schema_migrations.
MIGRATIONS = [
    (1, "routing events", _m001_routing_events),
    (2, "what the privacy guard did", _m002_privacy),
    (3, "cache tokens, and the usage ledger", ledger.m003_usage_ledger),
    (4, "the scenario of each request", _m004_scenario),
]
MIGRATIONS_TABLE = "proxy_schema_migrations"

_CWD_PATTERNS = (
    re.compile(r"<cwd>([^<\n]+)</cwd>"),  # Codex environment_context
    re.compile(r"Primary working directory: (/[^\s]+)"),  # Claude Code 2.1
    re.compile(r"Working directory: (/[^\s]+)"),  # Claude Code, earlier
    re.compile(r"Current working directory: (/[^\s]+)"),
)


def project_dir_of(system_text: str) -> str | None:
    for pattern in _CWD_PATTERNS:
        match = pattern.search(system_text)
        if match:
            return match.group(1).strip()
    return None


class EventRecorder:
    def __init__(self, engine: Engine, max_events: int, flush_interval_s: float = 0.1) -> None:
        self.engine = engine
        self.max_events = max_events
        self.flush_interval_s = flush_interval_s
        self._pending: deque[dict[str, Any]] = deque()
        self._task: asyncio.Task[None] | None = None
        # One writer thread: batches never overlap, and reuse one connection and its cache.
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="routing-events")
        self._flush_lock = asyncio.Lock()
        self._writes = 0
        self._pruning: asyncio.Future[None] | None = None

    def record(self, **event: Any) -> None:
        row: dict[str, Any] = dict.fromkeys(_COLUMNS)
        row.update((k, v) for k, v in event.items() if k in _COLUMNS)
        row["id"] = row["id"] or uuid.uuid4().hex
        row["created_at"] = row["created_at"] or datetime.now(UTC)
        row["fallback"] = bool(row["fallback"])
        row["stream"] = bool(row["stream"])
        if row["prompt_excerpt"]:
            row["prompt_excerpt"] = str(row["prompt_excerpt"])[:300]
        self._pending.append(row)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval_s)
            try:
                await self.flush()
            except Exception:
                log.exception("writing routing events failed")

    async def flush(self) -> None:
        # Readers flush first; the lock makes a reader wait for a write already under way.
        async with self._flush_lock:
            if not self._pending:
                return
            batch = list(self._pending)
            self._pending.clear()
            if self.engine.dialect.name == "sqlite":
                self._write_sqlite(batch)
            else:
                await asyncio.get_running_loop().run_in_executor(self._writer, self._write, batch)

    def _write_sqlite(self, batch: list[dict[str, Any]]) -> None:
        """SQLite: on the event loop, through the driver directly. A batch is a few ms of C;
        a writer thread cost more memory and throughput in GIL hand-offs than it saved. The
        write never waits on another process's lock: if the database is busy, the batch goes
        back in the queue for the next flush."""
        raw = self.engine.raw_connection()
        try:
            driver = raw.driver_connection
            assert driver is not None
            driver.execute("PRAGMA busy_timeout=50")
            try:
                driver.execute("BEGIN IMMEDIATE")
                driver.executemany(_SQLITE_INSERT, [_sqlite_row(row) for row in batch])
                driver.executemany(ledger.SQLITE_UPSERT, ledger.sqlite_rows(batch))
                driver.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if driver.in_transaction:
                    driver.execute("ROLLBACK")
                self._pending.extendleft(reversed(batch))
                while len(self._pending) > _MAX_PENDING:
                    self._pending.popleft()  # the oldest go first when the store stays busy
                log.warning("routing events not written yet (%s); will retry", exc)
                return
            finally:
                driver.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
        finally:
            raw.close()
        self._writes += 1
        if self._writes % 50 == 1 and (self._pruning is None or self._pruning.done()):
            # Pruning may wait for another process's lock (busy timeout): never on the loop.
            self._pruning = asyncio.get_running_loop().run_in_executor(
                self._writer, self._prune_now
            )

    def _write(self, batch: list[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            conn.execute(routing_events.insert(), batch)
            if entries := ledger.rows(batch):
                conn.execute(ledger.UPSERT, entries)
            self._writes += 1
            if self._writes % 20 == 1:
                self._prune(conn)

    def _prune(self, conn: Connection) -> None:
        cutoff = conn.execute(
            sa.select(routing_events.c.created_at)
            .order_by(routing_events.c.created_at.desc())
            .offset(self.max_events)
            .limit(1)
        ).scalar()
        if cutoff is not None:
            conn.execute(routing_events.delete().where(routing_events.c.created_at <= cutoff))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()
        await asyncio.get_running_loop().run_in_executor(self._writer, self._prune_now)
        self._writer.shutdown(wait=True)

    def _prune_now(self) -> None:
        with self.engine.begin() as conn:
            self._prune(conn)

    async def ledger(self, since: date | None = None) -> list[dict[str, Any]]:
        """The usage ledger's sums per upstream, model and route, from `since` on."""
        await self.flush()

        def read() -> list[dict[str, Any]]:
            with self.engine.connect() as conn:
                return ledger.totals(conn, since)

        return await asyncio.to_thread(read)

    async def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        await self.flush()
        return await asyncio.to_thread(self._recent, limit)

    def _recent(self, limit: int) -> list[dict[str, Any]]:
        with self.engine.begin() as conn:
            rows = (
                conn.execute(
                    sa.select(routing_events)
                    .order_by(routing_events.c.created_at.desc())
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        return [_jsonable({str(k): v for k, v in r.items()}) for r in rows]

    async def since(self, cutoff: datetime) -> list[dict[str, Any]]:
        """The events kept from `cutoff` on (what the dashboard's charts bucket)."""
        await self.flush()
        c = routing_events.c
        columns = (
            c.created_at,
            c.upstream,
            c.model,
            c.first_byte_ms,
            c.input_tokens,
            c.output_tokens,
            c.cache_read_tokens,
            c.cache_write_tokens,
        )

        def read() -> list[dict[str, Any]]:
            with self.engine.connect() as conn:
                query = sa.select(*columns).where(c.created_at >= cutoff)
                return [dict(row) for row in conn.execute(query).mappings()]

        return await asyncio.to_thread(read)

    async def stats(self) -> dict[str, Any]:
        await self.flush()
        return await asyncio.to_thread(self._stats)

    def _stats(self) -> dict[str, Any]:
        c = routing_events.c
        with self.engine.begin() as conn:
            rows = (
                conn.execute(
                    sa.select(
                        c.upstream,
                        sa.func.count().label("requests"),
                        sa.func.sum(sa.case((c.fallback, 1), else_=0)).label("fallbacks"),
                        sa.func.sum(sa.case((c.status != "ok", 1), else_=0)).label("errors"),
                        sa.func.coalesce(sa.func.sum(c.input_tokens), 0).label("input_tokens"),
                        sa.func.coalesce(sa.func.sum(c.output_tokens), 0).label("output_tokens"),
                        sa.func.avg(c.total_ms).label("avg_total_ms"),
                    ).group_by(c.upstream)
                )
                .mappings()
                .all()
            )
            modes = conn.execute(sa.select(c.mode, sa.func.count()).group_by(c.mode)).all()
            kinds = conn.execute(sa.select(c.scenario, sa.func.count()).group_by(c.scenario)).all()
        by_upstream = {str(r["upstream"]): {k: r[k] for k in r if k != "upstream"} for r in rows}
        total = sum(int(r["requests"]) for r in rows)
        local = int(by_upstream.get("local", {}).get("requests", 0))
        return {
            "total": total,
            "by_upstream": by_upstream,
            "by_mode": {str(m): int(n) for m, n in modes},
            "by_scenario": {str(k or "none"): int(n) for k, n in kinds},
            "fallbacks": sum(int(r["fallbacks"] or 0) for r in rows),
            "local_share": (local / total) if total else 0.0,
        }


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    created = row.get("created_at")
    if isinstance(created, datetime):
        row["created_at"] = (created if created.tzinfo else created.replace(tzinfo=UTC)).isoformat()
    return row
