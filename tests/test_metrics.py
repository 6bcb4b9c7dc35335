"""/metrics (mcp_server/metrics.py), read with prometheus-client's own text-format parser from
a real daemon, after real requests through the proxy and a real review round."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import git
import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import root_of
from tests.daemon import Daemon
from tests.fake_llm import FakeLLM, Reply


@pytest.fixture
def cloud() -> Iterator[FakeLLM]:
    llm = FakeLLM().start()
    yield llm
    llm.stop()


def _samples(d: Daemon) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = httpx.get(f"{d.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def _value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    """The sum over every series of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


def test_requests_fallbacks_breakers_tokens_cost_and_reviews(
    tmp_path: Path, cloud: FakeLLM, fake_llm: FakeLLM, project: git.Repo
) -> None:
    env = {
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}",
        "BRAINROUTER_PROXY__MODEL__ENABLED": "false",
        "BRAINROUTER_PROXY__CLOUD__BASE_URL": cloud.base_url,
        "BRAINROUTER_PROXY__CLOUD__MODEL": "frontier-model",
        "BRAINROUTER_PROXY__LOCAL__BASE_URL": fake_llm.base_url,
        "BRAINROUTER_PROXY__LOCAL__MODEL": "local-coder",
        "BRAINROUTER_PROXY__BREAKER__FAILURES": "1",
        "BRAINROUTER_DASHBOARD__PRICES": '{"frontier-model": {"input_per_mtok": 3, "output_per_mtok": 15}}',
        "BRAINROUTER_REVIEW__MODE": "local",
    }
    d = Daemon(env, tmp_path / "d.log").start()
    try:
        before = _samples(d)
        assert _value(before, "brainrouter_breaker_open", upstream="cloud") == 0
        client = openai.OpenAI(base_url=f"{d.url}/v1", api_key="unused", max_retries=0)
        hi: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]
        client.chat.completions.create(model="cloud", messages=hi)
        cloud.default = Reply(status=503)
        client.chat.completions.create(model="cloud", messages=hi)  # fails, answered locally
        odd = openai.OpenAI(
            base_url=f"{d.url}/v1",
            api_key="x",
            max_retries=0,
            default_headers={"user-agent": "evil/9"},
        )
        odd.chat.completions.create(model="local", messages=hi)
        httpx.post(
            f"{d.url}/review/api/request",
            json={"taskId": "m-1", "summary": "s", "cwd": str(root_of(project))},
            timeout=60,
        ).raise_for_status()

        after = _samples(d)
        requests = "brainrouter_requests_total"
        assert (
            _value(after, requests, route="cloud", upstream="cloud", status="ok", harness="sdk")
            == 1
        )
        assert _value(after, requests, route="cloud", upstream="local", status="ok") == 1
        assert _value(after, requests, scenario="main") == 3  # the review's own has none
        assert _value(after, "brainrouter_fallbacks_total", upstream="local") == 1
        assert _value(after, requests, harness="other") == 1  # a client cannot invent labels
        assert _value(after, requests, harness="review", upstream="local") == 1
        assert _value(after, "brainrouter_breaker_open", upstream="cloud") == 1
        assert _value(after, "brainrouter_first_byte_seconds_count") >= 3
        assert _value(after, "brainrouter_classifier_decision_seconds_count") >= 4
        tokens_in = _value(
            after, "brainrouter_tokens_total", model="frontier-model", direction="input"
        )
        tokens_out = _value(
            after, "brainrouter_tokens_total", model="frontier-model", direction="output"
        )
        assert tokens_in > 0 and tokens_out > 0
        cost = _value(after, "brainrouter_cost_usd_total", model="frontier-model")
        assert cost == pytest.approx((tokens_in * 3 + tokens_out * 15) / 1e6)
        assert (
            _value(after, "brainrouter_review_rounds_total", status="approved", reviewer="local")
            == 1
        )
        assert _value(after, "brainrouter_review_sessions", status="approved") == 1
        assert _value(after, "brainrouter_in_flight", upstream="cloud") == 0
    finally:
        d.stop()
