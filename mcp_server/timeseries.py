"""What the dashboard's charts draw: per time bucket over the last hour (one-minute buckets) or
day (15-minute buckets), requests by route, the local share, the cloud cost at the configured
prices and the median time to first byte per upstream. Read from the routing events kept
(`proxy.events_max`), so a busy daemon's day may start later than 24 h ago."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from mcp_server.config import Price

WINDOWS = {"hour": (timedelta(hours=1), 60), "day": (timedelta(days=1), 15 * 60)}


def buckets(
    events: Sequence[Mapping[str, Any]],
    window: str,
    prices: Mapping[str, Price],
    now: datetime | None = None,
) -> dict[str, Any]:
    span, step = WINDOWS[window]
    now = now or datetime.now(UTC)
    count = int(span.total_seconds() // step)
    start = int(now.timestamp()) // step * step - (count - 1) * step
    requests = {"local": [0] * count, "cloud": [0] * count}
    cost = [0.0] * count
    first_byte: dict[str, list[list[float]]] = {
        "local": [[] for _ in range(count)],
        "cloud": [[] for _ in range(count)],
    }
    for event in events:
        created = event["created_at"]
        if isinstance(created, str):
            created = datetime.fromisoformat(created)
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        index = (int(created.timestamp()) - start) // step
        upstream = event.get("upstream")
        if not 0 <= index < count or upstream not in requests:
            continue
        requests[upstream][index] += 1
        if event.get("first_byte_ms") is not None:
            first_byte[upstream][index].append(float(event["first_byte_ms"]))
        price = prices.get(str(event.get("model") or ""))
        if upstream == "cloud" and price is not None:
            read = int(event.get("cache_read_tokens") or 0)
            written = int(event.get("cache_write_tokens") or 0)
            fresh = max(0, int(event.get("input_tokens") or 0) - read - written)
            cost[index] += price.cost(fresh, read, written, int(event.get("output_tokens") or 0))
    totals = [
        local + cloud for local, cloud in zip(requests["local"], requests["cloud"], strict=True)
    ]
    return {
        "window": window,
        "step_s": step,
        "t": [start + i * step for i in range(count)],
        "requests": requests,
        "local_share": [
            (local / total if total else None)
            for local, total in zip(requests["local"], totals, strict=True)
        ],
        "cloud_cost": cost,
        "first_byte_p50_ms": {
            name: [statistics.median(b) if b else None for b in series]
            for name, series in first_byte.items()
        },
    }
