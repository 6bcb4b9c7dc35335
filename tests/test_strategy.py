"""How `auto` weighs the router (proxy/strategy.py, pure) and the daily cloud budget
(mcp_server/costs.py DailyBudget, an injected day), and both through the Router."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from mcp_server.config import Price
from mcp_server.costs import DailyBudget
from proxy import strategy
from proxy.routing import Classification, Features, Router
from proxy.settings import ProxySettings


def _apply(name: strategy.Strategy, route: strategy.Route, score: float, **ms: float | None):  # type: ignore[no-untyped-def]
    return strategy.apply(name, route, score, 0.6, lambda r: ms.get(r), lambda r: True)


def test_balanced_keeps_the_routers_word() -> None:
    assert _apply("balanced", "cloud", 0.61) == ("cloud", None)


def test_cost_goes_cloud_only_when_sure() -> None:
    route, why = _apply("cost", "cloud", 0.7)  # above 0.6, below 0.8 (halfway to 1)
    assert route == "local" and why is not None and "not sure it needs the cloud" in why
    assert _apply("cost", "cloud", 0.9) == ("cloud", None)
    assert _apply("cost", "local", 0.1) == ("local", None)


def test_quality_stays_local_only_when_sure() -> None:
    route, why = _apply("quality", "local", 0.4)  # below 0.6, above 0.3 (half of it)
    assert route == "cloud" and why is not None and "not sure local will do" in why
    assert _apply("quality", "local", 0.2) == ("local", None)


def test_latency_takes_the_faster_upstream_and_measures_both() -> None:
    route, why = _apply("latency", "cloud", 0.9, local=120.0, cloud=800.0)
    assert route == "local" and why is not None and "local 120 ms" in why
    assert _apply("latency", "local", 0.1, local=900.0, cloud=100.0)[0] == "cloud"
    assert _apply("latency", "cloud", 0.9, local=None, cloud=100.0)[0] == "local"  # try it
    one_able = strategy.apply("latency", "cloud", 0.9, 0.6, lambda r: 1.0, lambda r: r == "cloud")
    assert one_able == ("cloud", None)


def test_the_moving_average_follows_recent_values() -> None:
    ewma = strategy.Ewma(weight=0.5)
    for sample in (100.0, 300.0):
        ewma.add(sample)
    assert ewma.value == 200.0


class _Fixed:
    threshold = 0.6

    def __init__(self, route: str, score: float) -> None:
        self.result = Classification(route, score, "fixed")  # type: ignore[arg-type]

    async def classify(self, features: Features) -> Classification:
        return self.result


async def _no_models() -> list[str]:
    return []


def _settings(**extra: object) -> ProxySettings:
    return ProxySettings.model_validate(
        {
            "cloud": {"base_url": "http://c/v1", "model": "big"},
            "local": {"base_url": "http://l/v1", "model": "small"},
            **extra,
        }
    )


async def test_the_router_applies_the_strategy_and_says_why() -> None:
    router = Router(_settings(strategy="cost"), _Fixed("cloud", 0.7), _no_models)
    decision = await router.decide("auto", Features(latest_user_text="x"))
    assert decision.route == "local" and "strategy cost" in decision.reason
    forced = await router.decide("cloud", Features(latest_user_text="x"))
    assert forced.route == "cloud"  # strategies weigh auto only


async def test_a_spent_budget_sends_auto_local_and_midnight_resets_it() -> None:
    day = [date(2026, 11, 30)]
    budget = DailyBudget(
        0.01, {"big": Price(input_per_mtok=10, output_per_mtok=10)}, lambda: day[0]
    )
    router = Router(_settings(), _Fixed("cloud", 0.9), _no_models, over_budget=budget.over)
    features = Features(latest_user_text="x")
    assert (await router.decide("auto", features)).route == "cloud"
    budget.observe({"upstream": "cloud", "model": "big", "input_tokens": 600, "output_tokens": 400})
    assert budget.spent == pytest.approx(0.01)
    spent = await router.decide("auto", features)
    assert spent.route == "local" and "daily cloud budget of $0.01 spent" in spent.reason
    assert (await router.decide("cloud", features)).route == "cloud"  # asked for by name
    budget.observe({"upstream": "cloud", "model": "unpriced", "input_tokens": 10**9})
    assert budget.spent == pytest.approx(0.01)  # nothing to count it with
    day[0] += timedelta(days=1)
    assert (await router.decide("auto", features)).route == "cloud"
    assert budget.describe()["spent_usd"] == 0.0


def test_the_budget_starts_from_todays_ledger() -> None:
    budget = DailyBudget(1.0, {"big": Price(input_per_mtok=1, output_per_mtok=1)})
    row = {
        "upstream": "cloud",
        "model": "big",
        "route": "cloud",
        "requests": 3,
        "input_tokens": 500_000,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "output_tokens": 500_000,
    }
    budget.start([row])
    assert budget.over() is not None and budget.describe()["over"] is True
