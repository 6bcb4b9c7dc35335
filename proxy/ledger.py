"""The usage ledger (B2): tokens per day, upstream, model, route and project, kept apart from
the routing events so that it survives their pruning (`proxy.events_max`) and restarts. The
event recorder adds each batch of events to it in the same transaction. Cost is priced when
read, at the prices in config (cache reads and writes at their own), so a corrected price
corrects the history too.

`input_tokens` here excludes cache reads and writes (each has its own column), unlike a
routing event's, which counts every input token as chat's prompt_tokens does."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

_KEY = ("day", "upstream", "model", "route", "project")
_SUMS = ("requests", "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens")
_COLUMNS = (*_KEY, *_SUMS)
_UPSERT_TAIL = " ON CONFLICT (day, upstream, model, route, project) DO UPDATE SET " + ", ".join(
    f"{c} = usage_ledger.{c} + excluded.{c}" for c in _SUMS
)
SQLITE_UPSERT = (
    f"INSERT INTO usage_ledger ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
    + _UPSERT_TAIL
)
UPSERT = text(
    f"INSERT INTO usage_ledger ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _COLUMNS)})" + _UPSERT_TAIL
)
# Clients choose model names and project folders: bounded so a row cannot grow without end.
_MAX_LABEL = 256


def m003_usage_ledger(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE routing_events ADD COLUMN cache_read_tokens INTEGER"))
    conn.execute(text("ALTER TABLE routing_events ADD COLUMN cache_write_tokens INTEGER"))
    conn.execute(
        text(
            """
            CREATE TABLE usage_ledger (
                day VARCHAR(10) NOT NULL,
                upstream VARCHAR(16) NOT NULL,
                model VARCHAR(256) NOT NULL,
                route VARCHAR(16) NOT NULL,
                project VARCHAR(256) NOT NULL,
                requests BIGINT NOT NULL,
                input_tokens BIGINT NOT NULL,
                cache_read_tokens BIGINT NOT NULL,
                cache_write_tokens BIGINT NOT NULL,
                output_tokens BIGINT NOT NULL,
                PRIMARY KEY (day, upstream, model, route, project)
            )
            """
        )
    )


def _local_day(created: datetime) -> str:
    # Days as the user lives them: the machine's local time (a budget resets at midnight).
    return created.astimezone().date().isoformat()


def rows(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A batch of routing events, summed per ledger key (only those that reached an upstream)."""
    sums: dict[tuple[str, ...], dict[str, int]] = defaultdict(lambda: dict.fromkeys(_SUMS, 0))
    for event in events:
        upstream = event.get("upstream")
        if not upstream:
            continue
        read = int(event.get("cache_read_tokens") or 0)
        written = int(event.get("cache_write_tokens") or 0)
        key = (
            _local_day(event.get("created_at") or datetime.now(UTC)),
            str(upstream),
            str(event.get("model") or "")[:_MAX_LABEL],
            str(event.get("decision") or upstream),
            str(event.get("project_dir") or "")[:_MAX_LABEL],
        )
        entry = sums[key]
        entry["requests"] += 1
        entry["input_tokens"] += max(0, int(event.get("input_tokens") or 0) - read - written)
        entry["cache_read_tokens"] += read
        entry["cache_write_tokens"] += written
        entry["output_tokens"] += int(event.get("output_tokens") or 0)
    return [dict(zip(_KEY, key, strict=True)) | entry for key, entry in sums.items()]


def sqlite_rows(events: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(row[c] for c in _COLUMNS) for row in rows(events)]


def totals(conn: Connection, since: date | None = None) -> list[dict[str, Any]]:
    """Sums per day, upstream, model and route, from `since` (a local day) on, or all time."""
    group = ("day", "upstream", "model", "route")
    query = f"SELECT {', '.join(group)}, " + ", ".join(f"SUM({c}) AS {c}" for c in _SUMS)
    query += " FROM usage_ledger"
    params: dict[str, Any] = {}
    if since is not None:
        query += " WHERE day >= :since"
        params["since"] = since.isoformat()
    query += f" GROUP BY {', '.join(group)}"
    return [
        {k: (int(v) if k in _SUMS else v) for k, v in row._mapping.items()}
        for row in conn.execute(text(query), params)
    ]


def periods(today: date | None = None) -> dict[str, date | None]:
    today = today or datetime.now().astimezone().date()
    return {"today": today, "week": today - timedelta(days=today.weekday()), "all": None}


def by_period(
    rows: list[dict[str, Any]], today: date | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The rows of `totals` (all time) for each of `periods`: one read serves the three."""
    return {
        name: [r for r in rows if since is None or str(r["day"]) >= since.isoformat()]
        for name, since in periods(today).items()
    }
