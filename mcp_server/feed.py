"""The dashboard's table: routing events and review sessions, collapsed for reading.

Identical requests within 30 s collapse into one row (a count, latency summed); all the rounds of
one review session are one row ("iter N"). Pure functions over plain dicts: easy to test.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

WINDOW_S = 30.0


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _timestamp(row: dict[str, Any]) -> float:
    when = _time(row.get("created_at"))
    if when is None:
        return 0.0
    return when.timestamp() if when.tzinfo else when.replace(tzinfo=UTC).timestamp()


def _identity(event: dict[str, Any]) -> tuple[Any, ...]:
    return (
        event.get("harness"),
        event.get("requested_model"),
        event.get("upstream"),
        event.get("model"),
        event.get("status"),
        event.get("prompt_excerpt"),
        event.get("project_dir"),
    )


def collapse_events(
    events: list[dict[str, Any]], window_s: float = WINDOW_S
) -> list[dict[str, Any]]:
    """Newest first in, newest first out; a row absorbs older identical events within the window
    of its newest one."""
    rows: list[dict[str, Any]] = []
    open_rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for event in events:
        key = _identity(event)
        when = _time(event.get("created_at"))
        row = open_rows.get(key)
        if (
            row is not None
            and when is not None
            and row["_newest"] is not None
            and ((row["_newest"] - when).total_seconds() <= window_s)
        ):
            row["count"] += 1
            row["total_ms"] = (row["total_ms"] or 0) + (event.get("total_ms") or 0)
            row["fallback"] = row["fallback"] or bool(event.get("fallback"))
            continue
        row = {**event, "kind": "request", "count": 1, "_newest": when}
        open_rows[key] = row
        rows.append(row)
    for row in rows:
        row.pop("_newest", None)
    return rows


def review_rows(sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per review session: its rounds collapse into "iter N"."""
    return [
        {
            "kind": "review",
            "created_at": s.get("updated_at"),
            "harness": "review",
            "task_id": s.get("task_id"),
            "iteration": s.get("iteration"),
            "status": s.get("status"),
            "upstream": s.get("reviewer"),
            "project_dir": s.get("project_dir"),
            "url": s.get("review_url"),
            "count": 1,
        }
        for s in sessions
    ]


def table(
    events: list[dict[str, Any]], sessions: list[dict[str, Any]], limit: int = 50
) -> list[dict[str, Any]]:
    rows = collapse_events(events) + review_rows(sessions)
    rows.sort(key=_timestamp, reverse=True)
    return rows[:limit]
