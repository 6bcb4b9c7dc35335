"""With no local LLM server configured, model=local is served by the in-process GGUF model."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from mcp_server.config import Settings
from proxy.settings import ProxySettings
from tests.proxy_server import ServerThread


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerThread]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'e.db'}",
        proxy=ProxySettings.model_validate({"model": {"n_ctx": 1024, "max_tokens": 16}}),
    )
    s = ServerThread(settings).start()
    yield s
    s.stop()


def test_model_local_without_a_local_server(server: ServerThread) -> None:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="local", messages=[{"role": "user", "content": "Say hello."}], max_tokens=8
    )
    assert raw.headers["x-brainrouter-route"] == "local"
    answer = raw.parse()
    assert answer.model == "embedded" and isinstance(answer.choices[0].message.content, str)

    chunks = list(
        client.chat.completions.create(
            model="local",
            stream=True,
            messages=[{"role": "user", "content": "Count to three."}],
            max_tokens=8,
        )
    )
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")

    ids = [m.id for m in client.models.list()]
    assert "embedded" in ids
    status = httpx.get(f"{server.url}/api/inference-status").json()
    assert status["model"]["status"] == "ready" and status["model"]["gpu_offload"] in (True, False)


def test_the_model_loads_at_start_not_on_the_first_request(server: ServerThread) -> None:
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = httpx.get(f"{server.url}/api/inference-status").json()["model"]["status"]
        seen.append(status)
        if status != "loading":
            break
        time.sleep(0.05)
    assert seen[-1] == "ready" and set(seen) <= {"loading", "ready"}, seen


def test_nothing_loads_when_nothing_uses_the_model(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'e.db'}",
        proxy=ProxySettings.model_validate({"local": {"base_url": "http://127.0.0.1:9/v1"}}),
    )
    s = ServerThread(settings).start()
    try:
        status = httpx.get(f"{s.url}/api/inference-status").json()["model"]["status"]
        assert status == "not loaded"  # no embedded upstream, no judge: no 500 MB for nothing
    finally:
        s.stop()


def test_an_unloadable_model_is_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'e.db'}",
        proxy=ProxySettings.model_validate({"model": {"path": str(tmp_path / "none.gguf")}}),
    )
    s = ServerThread(settings).start()
    try:
        client = openai.OpenAI(base_url=f"{s.url}/v1", api_key="unused", max_retries=0)
        with pytest.raises(openai.APIStatusError, match="does not exist"):
            client.chat.completions.create(
                model="local", messages=[{"role": "user", "content": "x"}]
            )
        # auto still routes (the learned router needs no model) and says where it went
        health = httpx.get(f"{s.url}/api/service-health").json()
        assert health["classifier"]["kind"] == "length router"
        assert health["classifier"]["model"]["status"] == "failed"
    finally:
        s.stop()


def test_health_answers_while_the_model_works(tmp_path: Path) -> None:
    """auto routing with the model judge: the first request loads the model and asks it; the
    daemon keeps answering meanwhile, because the model runs off the event loop."""
    import threading
    import time

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'e.db'}",
        proxy=ProxySettings.model_validate(
            {
                "model": {"n_ctx": 1024, "max_tokens": 4},
                "classifier": {"judge": True, "judge_margin": 1.0, "timeout_ms": 60000},
            }
        ),
    )
    s = ServerThread(settings).start()
    try:
        model = s.app.state.proxy.model
        done = threading.Event()

        def ask() -> None:
            client = openai.OpenAI(base_url=f"{s.url}/v1", api_key="unused", max_retries=0)
            client.chat.completions.create(
                model="auto", messages=[{"role": "user", "content": "hello " * 50}], max_tokens=4
            )
            done.set()

        worker = threading.Thread(target=ask)
        worker.start()
        deadline = time.monotonic() + 30
        while model.status == "not loaded" and time.monotonic() < deadline:  # poll: the work began
            time.sleep(0.01)
        health = httpx.get(f"{s.url}/health", timeout=5)
        busy_during_health = not done.is_set()
        worker.join(60)
        assert health.status_code == 200
        assert busy_during_health, (
            "the request finished before /health was asked; nothing was shown"
        )
        assert done.is_set()
        event = httpx.get(f"{s.url}/api/routing-events").json()["events"][0]
        assert "judge" in event["reason"]
    finally:
        s.stop()


def test_a_caller_that_leaves_stops_the_generation(tmp_path: Path) -> None:
    # The proxy drops its request to the embedded model when its own client leaves: the
    # model must not go on generating for up to max_tokens while later requests wait.
    import json
    import socket

    import llama_cpp

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'e.db'}",
        proxy=ProxySettings.model_validate({"model": {"n_ctx": 2048, "max_tokens": 1000}}),
    )
    server = ServerThread(settings).start()
    try:
        model = server.app.state.proxy.model
        deadline = time.monotonic() + 120
        while model.status != "ready" and time.monotonic() < deadline:
            time.sleep(0.05)  # poll: the model loads in the background at start
        context = model._chat._ctx.ctx

        def generated() -> int:
            return int(llama_cpp.llama_perf_context(context).n_eval)

        before = generated()
        body = json.dumps(
            {  # at temperature 0 Gemma 270M counts on to max_tokens unless stopped
                "messages": [{"role": "user", "content": "Count from 1 to 1000, with commas."}],
                "max_tokens": 1000,
                "temperature": 0,
            }
        ).encode()
        caller = socket.create_connection(("127.0.0.1", server.port))
        caller.sendall(
            b"POST /embedded/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (server.port, len(body))
            + body
        )
        while generated() - before < 5 and time.monotonic() < deadline:
            time.sleep(0.01)  # poll until it is generating
        assert generated() - before >= 5
        caller.close()  # the caller leaves
        # the model's one completion thread serves this once the abandoned call has ended
        after = httpx.post(
            f"{server.url}/embedded/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1},
            timeout=120,
        )
        assert after.status_code == 200
        assert generated() - before < 100
    finally:
        server.stop()
