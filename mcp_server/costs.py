"""What the usage ledger's tokens cost, at the prices in config: each model at its own price,
cache reads and writes at theirs; and what the local route saved, priced as if the cloud
model had answered it."""

from __future__ import annotations

from collections.abc import Mapping
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
