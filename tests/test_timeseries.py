"""The dashboard's chart data (mcp_server/timeseries.py): pure bucketing, then the endpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mcp_server.config import Price
from mcp_server.timeseries import buckets

NOW = datetime(2026, 11, 30, 12, 30, 30, tzinfo=UTC)


def _event(minutes_ago: float, upstream: str, **extra: object) -> dict[str, object]:
    return {"created_at": NOW - timedelta(minutes=minutes_ago), "upstream": upstream, **extra}


def test_an_hour_in_minutes() -> None:
    events = [
        _event(0, "local", first_byte_ms=10.0),
        _event(0.1, "local", first_byte_ms=30.0),
        _event(
            0.2, "cloud", first_byte_ms=500.0, model="big", input_tokens=1000, output_tokens=100
        ),
        _event(5, "cloud", model="mystery", input_tokens=10**6),
        _event(90, "local"),  # before the window
        _event(0, "none"),  # refused before any upstream
    ]
    prices = {"big": Price(input_per_mtok=3, output_per_mtok=15)}
    data = buckets(events, "hour", prices, now=NOW)
    assert len(data["t"]) == 60 and data["step_s"] == 60
    assert data["t"][-1] <= NOW.timestamp() < data["t"][-1] + 60
    assert data["requests"]["local"][-1] == 2 and data["requests"]["cloud"][-1] == 1
    assert data["local_share"][-1] == pytest.approx(2 / 3)
    assert data["first_byte_p50_ms"]["local"][-1] == 20.0
    assert data["cloud_cost"][-1] == pytest.approx((1000 * 3 + 100 * 15) / 1e6)
    assert data["requests"]["cloud"][-6] == 1 and data["cloud_cost"][-6] == 0.0  # no price
    assert sum(data["requests"]["local"]) == 2
    assert data["local_share"][0] is None and data["first_byte_p50_ms"]["cloud"][0] is None


def test_a_day_in_quarter_hours() -> None:
    data = buckets([_event(60 * 23, "local")], "day", {}, now=NOW)
    assert len(data["t"]) == 96 and sum(data["requests"]["local"]) == 1
