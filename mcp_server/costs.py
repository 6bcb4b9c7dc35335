"""What the usage ledger's tokens cost, at the prices in config: each model at its own price,
cache reads and writes at theirs; and what the local route saved, priced as if the cloud
model had answered it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from mcp_server.config import Price


def priced(
    rows: list[dict[str, Any]], prices: Mapping[str, Price], cloud_model: str | None
) -> dict[str, Any]:
    requests: dict[str, int] = {}
    tokens: dict[str, dict[str, int]] = {}
    cloud_cost = 0.0
    avoided: float | None = 0.0
    unpriced: set[str] = set()
    cloud_price = prices.get(cloud_model or "")
    for row in rows:
        upstream = str(row["upstream"])
        requests[upstream] = requests.get(upstream, 0) + int(row["requests"])
        counts = tokens.setdefault(
            upstream, {"input": 0, "cache_read": 0, "cache_write": 0, "output": 0}
        )
        used = (
            int(row["input_tokens"]),
            int(row["cache_read_tokens"]),
            int(row["cache_write_tokens"]),
            int(row["output_tokens"]),
        )
        for key, value in zip(counts, used, strict=True):
            counts[key] += value
        if upstream == "cloud":
            price = prices.get(str(row["model"]))
            if price is None:
                unpriced.add(str(row["model"]))
            else:
                cloud_cost += price.cost(*used)
        elif upstream == "local" and avoided is not None:
            avoided = None if cloud_price is None else avoided + cloud_price.cost(*used)
    total = sum(requests.values())
    return {
        "requests": requests,
        "local_share": requests.get("local", 0) / total if total else 0.0,
        "tokens": tokens,
        "cloud_cost": cloud_cost,
        "cloud_cost_avoided": avoided,
        "unpriced_models": sorted(unpriced),
    }


class DailyBudget:
    """Today's cloud spend against `proxy.budget.cloud_usd_per_day`: started from the usage
    ledger, kept current from each routing event, reset at midnight local time. The router
    asks `over()` on every `auto` decision."""

    def __init__(
        self,
        limit_usd: float | None,
        prices: Mapping[str, Price],
        today: Callable[[], date] = lambda: datetime.now().astimezone().date(),
    ) -> None:
        self.limit = limit_usd
        self._prices = prices
        self._today = today
        self.day = today()
        self.spent = 0.0

    def start(self, rows_today: list[dict[str, Any]]) -> None:
        self.day = self._today()
        self.spent = priced(rows_today, self._prices, None)["cloud_cost"]

    def _roll(self) -> None:
        if (today := self._today()) != self.day:
            self.day, self.spent = today, 0.0

    def observe(self, event: Mapping[str, Any]) -> None:
        if event.get("upstream") != "cloud":
            return
        price = self._prices.get(str(event.get("model") or ""))
        if price is None:
            return
        self._roll()
        read = int(event.get("cache_read_tokens") or 0)
        written = int(event.get("cache_write_tokens") or 0)
        fresh = max(0, int(event.get("input_tokens") or 0) - read - written)
        self.spent += price.cost(fresh, read, written, int(event.get("output_tokens") or 0))

    def over(self) -> str | None:
        """Why `auto` goes local now, or None while there is budget (or none is set)."""
        if self.limit is None:
            return None
        self._roll()
        if self.spent < self.limit:
            return None
        return (
            f"daily cloud budget of ${self.limit:.2f} spent (${self.spent:.2f} today): "
            "local until midnight"
        )

    def describe(self) -> dict[str, Any]:
        self._roll()
        return {
            "limit_usd": self.limit,
            "spent_usd": self.spent,
            "over": self.over() is not None,
            "day": self.day.isoformat(),
        }
