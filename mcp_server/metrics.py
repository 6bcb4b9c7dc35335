"""`/metrics` in Prometheus' text format (prometheus-client): what the proxy routed and how it
went, its breakers, the classifier's decision time, and what the review loop decided.

Request figures are counted as each routing event is recorded (ProxyService's observer);
breakers, requests in flight and escalations are read when scraped; review rounds and
sessions are counted in the database when scraped, so they survive restarts. Label values
that come from clients (the harness, a model name) are bounded: anything not configured or
known is `other`, so a client cannot grow the series without end."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text

from mcp_server.config import Price, Settings

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
KNOWN_HARNESSES = frozenset(
    {"claude-code", "codex", "opencode", "droid", "vibe", "gemini", "omp", "pi", "sdk", "review"}
)
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)
_DECISION_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2)


class RequestMetrics:
    """Counted from every routing event (see ProxyService's `observer`)."""

    def __init__(self, registry: CollectorRegistry, settings: Settings) -> None:
        proxy = settings.proxy
        self._models = {
            m
            for m in (
                proxy.cloud.model,
                proxy.local.model,
                proxy.local.fallback_model,
                *proxy.cloud.models,
                *proxy.local.models,
                *settings.dashboard.prices,
            )
            if m
        }
        self._prices: Mapping[str, Price] = settings.dashboard.prices
        self.requests = Counter(
            "brainrouter_requests",
            "Requests through the proxy, by route taken, upstream, outcome, harness, mode and "
            "scenario",
            ["route", "upstream", "status", "harness", "mode", "scenario"],
            registry=registry,
        )
        self.fallbacks = Counter(
            "brainrouter_fallbacks",
            "Requests answered by the local upstream after the cloud failed",
            ["upstream"],
            registry=registry,
        )
        self.first_byte = Histogram(
            "brainrouter_first_byte_seconds",
            "Time to the upstream's first byte",
            ["upstream"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.duration = Histogram(
            "brainrouter_request_duration_seconds",
            "Whole request, as the client saw it",
            ["upstream", "stream"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.decision = Histogram(
            "brainrouter_classifier_decision_seconds",
            "Time to decide the route",
            ["mode"],
            buckets=_DECISION_BUCKETS,
            registry=registry,
        )
        self.tokens = Counter(
            "brainrouter_tokens",
            "Tokens reported by upstreams (input includes cache reads and writes)",
            ["upstream", "model", "direction"],
            registry=registry,
        )
        self.cost = Counter(
            "brainrouter_cost_usd",
            "Cost at the prices in dashboard.prices, for models that have one",
            ["upstream", "model"],
            registry=registry,
        )

    def _model(self, name: Any) -> str:
        return name if isinstance(name, str) and name in self._models else "other"

    def observe(self, event: Mapping[str, Any]) -> None:
        upstream = str(event.get("upstream") or "none")
        harness = str(event.get("harness") or "unknown")
        self.requests.labels(
            route=str(event.get("decision") or "none"),
            upstream=upstream,
            status=str(event.get("status") or "unknown"),
            harness=harness if harness in KNOWN_HARNESSES else "other",
            mode=str(event.get("mode") or "none"),
            scenario=str(event.get("scenario") or "none"),
        ).inc()
        if event.get("fallback"):
            self.fallbacks.labels(upstream=upstream).inc()
        if (first := event.get("first_byte_ms")) is not None:
            self.first_byte.labels(upstream=upstream).observe(first / 1000)
        if (total := event.get("total_ms")) is not None:
            self.duration.labels(
                upstream=upstream, stream=str(bool(event.get("stream"))).lower()
            ).observe(total / 1000)
        if (decided := event.get("decision_ms")) is not None:
            self.decision.labels(mode=str(event.get("mode") or "none")).observe(decided / 1000)
        model = self._model(event.get("model"))
        tokens_in = int(event.get("input_tokens") or 0)
        tokens_out = int(event.get("output_tokens") or 0)
        if tokens_in:
            self.tokens.labels(upstream=upstream, model=model, direction="input").inc(tokens_in)
        if tokens_out:
            self.tokens.labels(upstream=upstream, model=model, direction="output").inc(tokens_out)
        price = self._prices.get(model)
        if price is not None and (tokens_in or tokens_out):
            cost = (tokens_in * price.input_per_mtok + tokens_out * price.output_per_mtok) / 1e6
            self.cost.labels(upstream=upstream, model=model).inc(cost)


class StateCollector(Collector):
    """What is read when scraped: breakers, requests in flight, escalations, review figures."""

    def __init__(
        self,
        upstream_health: Callable[[], Mapping[str, Mapping[str, Any]]],
        in_flight: Mapping[str, int],
        route_escalations: Callable[[], Mapping[str, str]],
        engine: Any,
    ) -> None:
        self._health = upstream_health
        self._in_flight = in_flight
        self._escalations = route_escalations
        self._engine = engine

    def collect(self) -> Iterable[Metric]:
        breaker = GaugeMetricFamily(
            "brainrouter_breaker_open",
            "1 while an upstream's circuit breaker is open",
            labels=["upstream"],
        )
        failures = GaugeMetricFamily(
            "brainrouter_upstream_consecutive_failures", "Failures in a row", labels=["upstream"]
        )
        for name, health in self._health().items():
            breaker.add_metric([name], 1.0 if health.get("breaker") == "open" else 0.0)
            failures.add_metric([name], float(health.get("consecutive_failures") or 0))
        yield breaker
        yield failures
        in_flight = GaugeMetricFamily(
            "brainrouter_in_flight", "Upstream calls in flight", labels=["upstream"]
        )
        for name, count in self._in_flight.items():
            in_flight.add_metric([name], float(count))
        yield in_flight
        yield GaugeMetricFamily(
            "brainrouter_route_escalations",
            "Tasks the review loop moved to the cloud route, in force",
            value=float(len(self._escalations())),
        )
        rounds = CounterMetricFamily(
            "brainrouter_review_rounds",
            "Review rounds by outcome and reviewer",
            labels=["status", "reviewer"],
        )
        sessions = GaugeMetricFamily(
            "brainrouter_review_sessions", "Review sessions by status", labels=["status"]
        )
        with self._engine.connect() as conn:
            for status, reviewer, count in conn.execute(
                text(
                    "SELECT status, reviewer, COUNT(*) FROM review_rounds GROUP BY status, reviewer"
                )
            ):
                rounds.add_metric([str(status), str(reviewer or "none")], float(count))
            for status, count in conn.execute(
                text("SELECT status, COUNT(*) FROM review_sessions GROUP BY status")
            ):
                sessions.add_metric([str(status)], float(count))
        yield rounds
        yield sessions


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
