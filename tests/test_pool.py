"""Several servers on a route (proxy/pool.py): the least busy healthy one that serves the
model, its own breaker and health probe, and failover to the cloud only when opted in.
Real fake servers on loopback behind a real daemon."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from mcp_server.config import Settings
from tests.conftest import free_port
from tests.fake_llm import FakeLLM, Reply
from tests.proxy_server import ServerThread


@pytest.fixture
def servers() -> Iterator[tuple[FakeLLM, FakeLLM, FakeLLM]]:
    trio = (FakeLLM().start(), FakeLLM().start(), FakeLLM().start())
    yield trio
    for llm in trio:
        llm.stop()


def _serve(tmp_path: Path, **proxy: Any) -> ServerThread:
    """A daemon (in-process) whose breakers open on the first failure."""
    settings = Settings.model_validate(
        {
            "database_url": f"sqlite:///{tmp_path / 'pool.db'}",
            "proxy": {
                "model": {"enabled": False},
                "breaker": {"failures": 1, "cooldown_s": 60},
                **proxy,
            },
        }
    )
    return ServerThread(settings).start()


def _daemon(
    tmp_path: Path, cloud: FakeLLM, trio: tuple[FakeLLM, ...], **local: Any
) -> ServerThread:
    a, b, c = trio
    return _serve(
        tmp_path,
        cloud={"base_url": cloud.base_url, "model": "big-model"},
        local={
            "base_url": a.base_url,
            "model": "coder",
            "models": ["coder", "special-model"],
            "instances": [
                {"base_url": b.base_url},
                {"base_url": c.base_url, "models": ["special-model"]},
            ],
            **local,
        },
    )


def _ask(url: str, model: str = "local") -> httpx.Response:
    return httpx.post(
        f"{url}/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
    )


def test_requests_spread_to_the_least_busy_server_that_serves_the_model(
    tmp_path: Path, cloud: FakeLLM, servers: tuple[FakeLLM, FakeLLM, FakeLLM]
) -> None:
    a, b, c = servers
    gate = threading.Event()
    a.default = Reply("from a", gate=gate)  # a holds its answer: it stays busy
    server = _daemon(tmp_path, cloud, servers)
    try:
        with ThreadPoolExecutor(2) as pool:
            held = pool.submit(_ask, server.url)
            deadline = time.monotonic() + 10
            while not a.requests and time.monotonic() < deadline:  # poll: a has it
                time.sleep(0.01)
            second = _ask(server.url)  # a is busy: b takes it
            gate.set()
            assert held.result().status_code == 200
        assert second.status_code == 200 and len(a.requests) == 1 and len(b.requests) == 1
        assert c.requests == []  # c serves special-model only
        assert _ask(server.url, "special-model").status_code == 200
        assert len(c.requests) == 1 and len(a.requests) + len(b.requests) == 2
    finally:
        server.stop()


def test_a_failing_server_is_skipped_and_the_next_answers(
    tmp_path: Path, cloud: FakeLLM, servers: tuple[FakeLLM, FakeLLM, FakeLLM]
) -> None:
    a, b, _c = servers
    a.default = Reply(status=500)
    server = _daemon(tmp_path, cloud, servers)
    try:
        first = _ask(server.url)
        assert first.status_code == 200 and first.json()["choices"][0]["message"]["content"]
        assert len(a.requests) == 1 and len(b.requests) == 1
        health = httpx.get(f"{server.url}/api/service-health").json()["local_servers"]
        assert health["local"]["breaker"] == "open" and health["local#2"]["status"] == "up"
        _ask(server.url)
        assert len(a.requests) == 1 and len(b.requests) == 2  # a's breaker keeps it out
        assert cloud.requests == []  # no failover unless opted in
    finally:
        server.stop()


@pytest.mark.parametrize("opted_in", [False, True])
def test_failover_to_the_cloud_is_opt_in(
    tmp_path: Path, cloud: FakeLLM, servers: tuple[FakeLLM, ...], opted_in: bool
) -> None:
    for llm in servers:
        llm.default = Reply(status=500)
    server = _daemon(tmp_path, cloud, servers, failover_to_cloud=opted_in)
    try:
        answer = _ask(server.url)
        if not opted_in:
            assert answer.status_code == 502 and cloud.requests == []
            return
        assert answer.status_code == 200 and answer.headers["x-brainrouter-route"] == "cloud"
        event = httpx.get(f"{server.url}/api/routing-events", params={"limit": 1}).json()
        assert "failover to the cloud" in event["events"][0]["fallback_reason"]
    finally:
        server.stop()


def test_the_health_probe_opens_a_dead_servers_breaker(
    tmp_path: Path, cloud: FakeLLM, servers: tuple[FakeLLM, FakeLLM, FakeLLM]
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    a, b, _c = servers
    server = _serve(
        tmp_path,
        local={
            "base_url": a.base_url,
            "model": "coder",
            "probe_s": 0.1,
            "instances": [{"base_url": dead}, {"base_url": b.base_url}],
        },
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # poll until the probe has run
            health = httpx.get(f"{server.url}/api/service-health").json()["local_servers"]
            if health["local#2"]["breaker"] == "open":
                break
            time.sleep(0.05)
        assert (
            health["local#2"]["breaker"] == "open"
            and "health probe" in health["local#2"]["last_error"]
        )
        assert health["local"]["breaker"] == "closed" and health["local#3"]["breaker"] == "closed"
    finally:
        server.stop()


def test_several_cloud_keys_share_the_load_and_cover_for_each_other(
    tmp_path: Path, servers: tuple[FakeLLM, FakeLLM, FakeLLM], monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway, other_gateway, local = servers
    monkeypatch.setenv("KEY_ONE", "sk-one")
    monkeypatch.setenv("KEY_TWO", "sk-two")
    server = _serve(
        tmp_path,
        cloud={
            "base_url": gateway.base_url,
            "model": "big-model",
            "api_key_env": "KEY_ONE",
            "instances": [
                {"api_key_env": "KEY_TWO"},  # the same gateway, another key
                {"base_url": other_gateway.base_url, "models": ["rare-model"]},
            ],
        },
        local={"base_url": local.base_url, "model": "coder"},
    )
    try:
        gate = threading.Event()
        gateway.responder = lambda body: (
            Reply("held", gate=gate) if not gateway.requests[1:] else Reply("ok")
        )
        with ThreadPoolExecutor(2) as pool:
            held = pool.submit(_ask, server.url, "cloud")
            deadline = time.monotonic() + 10
            while not gateway.requests and time.monotonic() < deadline:  # poll: key one has it
                time.sleep(0.01)
            assert _ask(server.url, "cloud").status_code == 200  # key one is busy: key two
            gate.set()
            assert held.result().status_code == 200
        keys = [h["authorization"] for h in gateway.headers]
        assert sorted(keys) == ["Bearer sk-one", "Bearer sk-two"]
        assert other_gateway.requests == [] and local.requests == []
        assert _ask(server.url, "rare-model").status_code == 200
        assert len(other_gateway.requests) == 1  # only it serves rare-model
        health = httpx.get(f"{server.url}/api/service-health").json()["cloud_servers"]
        assert set(health) == {"cloud", "cloud#2", "cloud#3"}
    finally:
        server.stop()
