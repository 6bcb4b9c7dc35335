"""The usage ledger (proxy/ledger.py) and what it costs (mcp_server/costs.py), on a real
daemon: cache reads priced at their own price, each model at its own, kept across restarts
and the pruning of routing events."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import openai
import pytest

from mcp_server.config import Price
from mcp_server.costs import priced
from tests.daemon import Daemon
from tests.fake_llm import FakeLLM, Reply

PRICES = {
    "big-model": {"input_per_mtok": 3.0, "output_per_mtok": 15.0, "cache_read_per_mtok": 0.3},
    "other-cloud-model": {"input_per_mtok": 1.0, "output_per_mtok": 2.0},
}


def _env(tmp_path: Path, cloud: FakeLLM, local: FakeLLM, **extra: str) -> dict[str, str]:
    return {
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'l.db'}",
        "BRAINROUTER_PROXY__MODEL__ENABLED": "false",
        "BRAINROUTER_PROXY__CLOUD__BASE_URL": cloud.base_url,
        "BRAINROUTER_PROXY__CLOUD__MODEL": "big-model",
        "BRAINROUTER_PROXY__LOCAL__BASE_URL": local.base_url,
        "BRAINROUTER_PROXY__LOCAL__MODEL": "small-model",
        "BRAINROUTER_DASHBOARD__PRICES": json.dumps(PRICES),
        **extra,
    }


def _ask(d: Daemon, model: str, text: str) -> None:
    client = openai.OpenAI(base_url=f"{d.url}/v1", api_key="x", max_retries=0)
    client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}])


def test_cached_tokens_are_priced_apart_and_the_ledger_outlives_events(
    tmp_path: Path, cloud: FakeLLM, local: FakeLLM
) -> None:
    env = _env(tmp_path, cloud, local, BRAINROUTER_PROXY__EVENTS_MAX="10")
    # a Claude Code turn that mostly hits the prompt cache: 1,011 input tokens, 1,000 cached
    cloud.default = Reply(
        "ok", usage={"prompt_tokens": 1011, "prompt_tokens_details": {"cached_tokens": 1000}}
    )
    d = Daemon(env, tmp_path / "a.log").start()
    try:
        _ask(d, "cloud", "hard thing")
        for i in range(14):
            _ask(d, "local", f"easy thing {i}")
        today = httpx.get(f"{d.url}/api/dashboard").json()["ledger"]["today"]
        cloud_tokens = today["tokens"]["cloud"]
        assert cloud_tokens["input"] == 11 and cloud_tokens["cache_read"] == 1000
        out = cloud_tokens["output"]
        # the bug other gateways have: cached tokens billed as fresh input (or not at all)
        assert today["cloud_cost"] == pytest.approx((11 * 3 + 1000 * 0.3 + out * 15) / 1e6)
        local_tokens = today["tokens"]["local"]
        assert today["cloud_cost_avoided"] == pytest.approx(
            (local_tokens["input"] * 3 + local_tokens["output"] * 15) / 1e6
        )
        assert today["requests"] == {"cloud": 1, "local": 14}
    finally:
        d.stop()  # prunes the routing events to events_max
    again = Daemon(env, tmp_path / "b.log").start()
    try:
        assert httpx.get(f"{again.url}/api/routing-stats").json()["total"] <= 10
        data = httpx.get(f"{again.url}/api/dashboard").json()["ledger"]
        for period in ("today", "week", "all"):
            assert data[period]["requests"] == {"cloud": 1, "local": 14}
    finally:
        again.stop()


def test_each_cloud_model_has_its_own_price_and_unpriced_ones_are_named() -> None:
    prices = {name: Price.model_validate(p) for name, p in PRICES.items()}
    row = {"route": "cloud", "requests": 1, "cache_read_tokens": 0, "cache_write_tokens": 0}
    rows = [
        {
            **row,
            "upstream": "cloud",
            "model": "big-model",
            "input_tokens": 1000,
            "output_tokens": 0,
        },
        {
            **row,
            "upstream": "cloud",
            "model": "other-cloud-model",
            "input_tokens": 1000,
            "output_tokens": 0,
        },
        {**row, "upstream": "cloud", "model": "mystery", "input_tokens": 1000, "output_tokens": 0},
    ]
    result = priced(rows, prices, "big-model")
    assert result["cloud_cost"] == pytest.approx((1000 * 3 + 1000 * 1) / 1e6)
    assert result["unpriced_models"] == ["mystery"]
    assert priced(rows, {}, "big-model")["cloud_cost_avoided"] == 0.0  # nothing local
    local = [{**row, "upstream": "local", "model": "small", "input_tokens": 5, "output_tokens": 5}]
    assert priced(local, {}, "big-model")["cloud_cost_avoided"] is None  # no cloud price


def test_a_spent_daily_budget_shows_on_the_dashboard_and_in_the_event(
    tmp_path: Path, cloud: FakeLLM, local: FakeLLM
) -> None:
    env = _env(
        tmp_path,
        cloud,
        local,
        BRAINROUTER_PROXY__CLASSIFIER__THRESHOLD="0.0",  # auto would send everything cloud
        BRAINROUTER_PROXY__BUDGET__CLOUD_USD_PER_DAY="0.00001",
    )
    d = Daemon(env, tmp_path / "d.log").start()
    try:
        _ask(d, "auto", "first")
        _ask(d, "auto", "second")
        first, second = reversed(
            httpx.get(f"{d.url}/api/routing-events", params={"limit": 2}).json()["events"]
        )
        assert first["upstream"] == "cloud"
        assert second["upstream"] == "local" and "daily cloud budget" in second["reason"]
        budget = httpx.get(f"{d.url}/api/dashboard").json()["budget"]
        assert budget["over"] is True and budget["limit_usd"] == 0.00001
    finally:
        d.stop()
    again = Daemon(env, tmp_path / "e.log").start()  # today's spend is read back from the ledger
    try:
        _ask(again, "auto", "third")
        event = httpx.get(f"{again.url}/api/routing-events", params={"limit": 1}).json()["events"][
            0
        ]
        assert event["upstream"] == "local"
    finally:
        again.stop()
