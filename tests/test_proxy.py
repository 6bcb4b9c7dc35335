"""The routing proxy with OpenAI chat clients: routing modes, streaming, the local rewrite,
errors, models and the dashboard API (official openai SDK, fake upstreams on loopback)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.fake_llm import FakeLLM, Reply
from tests.proxy_fixtures import anthropic_client, openai_client, proxy_settings, routing_events
from tests.proxy_server import ServerThread


# ------------------------------------------------------------------ chat completions
def test_chat_routes_by_model(server: ServerThread, cloud: FakeLLM, local: FakeLLM) -> None:
    client = openai_client(server)
    answer = client.chat.completions.create(
        model="cloud", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content == "cloud says hi"
    assert cloud.requests[-1]["model"] == "big-cloud-model"

    answer = client.chat.completions.create(
        model="brainrouter/local", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content == "local says hi"
    assert local.requests[-1]["model"] == "small-local-model"

    answer = client.chat.completions.create(
        model="auto", messages=[{"role": "user", "content": "good evening"}]
    )
    assert answer.choices[0].message.content == "local says hi"  # the router keeps chit-chat local

    answer = client.chat.completions.create(
        model="fake-local-2", messages=[{"role": "user", "content": "x"}]
    )
    assert local.requests[-1]["model"] == "fake-local-2"  # a concrete model the local server lists
    answer = client.chat.completions.create(
        model="gpt-elsewhere", messages=[{"role": "user", "content": "x"}]
    )
    assert cloud.requests[-1]["model"] == "gpt-elsewhere"


def test_chat_stream_is_sse_and_non_stream_is_json(server: ServerThread) -> None:
    body = {"model": "cloud", "messages": [{"role": "user", "content": "hi"}], "stream": False}
    plain = httpx.post(f"{server.url}/v1/chat/completions", json=body)
    assert plain.headers["content-type"].startswith("application/json")
    assert plain.json()["choices"][0]["message"]["content"] == "cloud says hi"

    chunks = list(
        openai_client(server).chat.completions.create(
            model="cloud",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip() == "cloud says hi"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 18


def test_local_mode_rewrites_the_system_prompt_and_keeps_tools(
    server: ServerThread, local: FakeLLM
) -> None:
    tools = [{"type": "function", "function": {"name": "grep", "parameters": {"type": "object"}}}]
    openai_client(server).chat.completions.create(
        model="local",
        tools=tools,  # type: ignore[arg-type]
        messages=[
            {"role": "system", "content": "HUGE HARNESS PROMPT " * 500},
            {"role": "developer", "content": "more rules"},
            {"role": "user", "content": "hi"},
        ],
    )
    sent = local.requests[-1]
    assert sent["messages"][0]["role"] == "system"
    assert "HUGE HARNESS PROMPT" not in json.dumps(sent)
    assert "more rules" not in json.dumps(sent)
    assert "Never repeat an action" in sent["messages"][0]["content"]
    assert sent["tools"] == tools
    assert sent["messages"][-1] == {"role": "user", "content": "hi"}


def test_streaming_forwards_chunks_as_they_arrive(server: ServerThread, cloud: FakeLLM) -> None:
    gate = threading.Event()
    cloud.script(Reply("first then the rest", gate=gate))
    body = {"model": "cloud", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    with httpx.stream(
        "POST", f"{server.url}/v1/chat/completions", json=body, timeout=10
    ) as response:
        lines = response.iter_lines()
        first = next(line for line in lines if line.startswith("data:"))
        # The upstream is still holding the rest back: the first chunk was not buffered.
        assert '"role":"assistant"' in first.replace(" ", "")
        gate.set()
        rest = [line for line in lines if line.startswith("data:")]
    assert rest[-1] == "data: [DONE]"


# ------------------------------------------------------------------ errors, models, events
def test_bad_requests_get_errors_in_the_clients_shape(server: ServerThread) -> None:
    chat = httpx.post(
        f"{server.url}/v1/chat/completions",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert chat.status_code == 400 and "not valid JSON" in chat.json()["error"]["message"]
    messages = httpx.post(f"{server.url}/v1/messages", json={"model": "cloud"})
    assert messages.status_code == 400
    assert messages.json()["type"] == "error" and "messages" in messages.json()["error"]["message"]
    responses_ = httpx.post(f"{server.url}/v1/responses", json={"model": 3, "input": "x"})
    assert responses_.status_code == 400 and "model" in responses_.json()["error"]["message"]
    with pytest.raises(anthropic.BadRequestError):
        anthropic_client(server).messages.create(
            model="", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )


def test_body_size_limit(tmp_path: Path, cloud: FakeLLM, local: FakeLLM) -> None:
    s = ServerThread(proxy_settings(tmp_path, cloud, local, max_body_bytes=2048)).start()
    try:
        big = {"model": "cloud", "messages": [{"role": "user", "content": "x" * 5000}]}
        response = httpx.post(f"{s.url}/v1/messages", json=big)
        assert (
            response.status_code == 413 and response.json()["error"]["type"] == "request_too_large"
        )
    finally:
        s.stop()


def test_unknown_model_without_a_cloud(tmp_path: Path, local: FakeLLM) -> None:
    s = ServerThread(proxy_settings(tmp_path, None, local)).start()
    try:
        with pytest.raises(openai.NotFoundError, match="unknown model"):
            openai_client(s).chat.completions.create(
                model="no-such-model", messages=[{"role": "user", "content": "x"}]
            )
        with pytest.raises(openai.APIStatusError, match="no cloud upstream"):
            openai_client(s).chat.completions.create(
                model="cloud", messages=[{"role": "user", "content": "x"}]
            )
        # auto falls to the upstream that exists
        answer = openai_client(s).chat.completions.create(
            model="auto", messages=[{"role": "user", "content": "x" * 9000}]
        )
        assert answer.choices[0].message.content == "local says hi"
    finally:
        s.stop()


def test_models_and_dashboard_api(server: ServerThread) -> None:
    ids = [m.id for m in openai_client(server).models.list()]
    assert ids[:3] == ["auto", "local", "cloud"] and "fake-local-1" in ids
    assert httpx.get(f"{server.url}/health").json()["status"] == "ok"
    openai_client(server).chat.completions.create(
        model="cloud", messages=[{"role": "user", "content": "count me"}]
    )
    event = routing_events(server)[0]
    assert (
        event["mode"] == "cloud"
        and event["upstream"] == "cloud"
        and event["model"] == "big-cloud-model"
    )
    assert (
        event["prompt_excerpt"] == "count me"
        and event["input_tokens"] == 11
        and event["output_tokens"] == 7
    )
    assert event["total_ms"] > 0 and event["first_byte_ms"] > 0
    stats = httpx.get(f"{server.url}/api/routing-stats").json()
    assert stats["total"] == 1 and stats["by_upstream"]["cloud"]["requests"] == 1
    assert httpx.get(f"{server.url}/api/models/llama-swap").json()["models"] == [
        "fake-local-1",
        "fake-local-2",
    ]
    assert httpx.get(f"{server.url}/api/inference-status").json()["busy"] is False
    assert httpx.get(f"{server.url}/api/routing-events", params={"limit": "x"}).status_code == 422


@pytest.mark.parametrize("name", ["a\u0000b", "a\r\nx-evil: 1", "tab\there", "m" * 1_000_000])
def test_model_names_are_checked_before_any_upstream(
    server: ServerThread, cloud: FakeLLM, local: FakeLLM, name: str
) -> None:
    with pytest.raises(openai.BadRequestError, match="printable characters"):
        openai_client(server).chat.completions.create(
            model=name, messages=[{"role": "user", "content": "hi"}]
        )
    with pytest.raises(anthropic.BadRequestError, match="printable characters"):
        anthropic_client(server).messages.create(
            model=name, max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        )
    assert cloud.requests == [] and local.requests == []
    assert httpx.get(f"{server.url}/health").status_code == 200


@pytest.mark.parametrize(
    ("protocol", "header", "value"),
    [
        ("openai", "authorization", "Bearer sk-cloud-key"),
        ("anthropic", "x-api-key", "sk-cloud-key"),
    ],
)
def test_the_cloud_key_reaches_the_upstream_in_its_formats_header(
    tmp_path: Path,
    cloud: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    protocol: str,
    header: str,
    value: str,
) -> None:
    monkeypatch.setenv("BENCH_CLOUD_KEY", "sk-cloud-key")
    settings = proxy_settings(
        tmp_path, cloud, None, cloud={"protocol": protocol, "api_key_env": "BENCH_CLOUD_KEY"}
    )
    s = ServerThread(settings).start()
    try:
        openai_client(s).chat.completions.create(
            model="cloud", messages=[{"role": "user", "content": "hi"}]
        )
        assert cloud.headers[-1][header] == value
        # The client's own credential never goes upstream.
        assert "unused" not in str(cloud.headers[-1])
    finally:
        s.stop()


def test_the_local_system_prompt_can_be_replaced(
    tmp_path: Path, cloud: FakeLLM, local: FakeLLM
) -> None:
    lean = tmp_path / "lean.md"
    lean.write_text("You are a terse local helper.")
    s = ServerThread(proxy_settings(tmp_path, cloud, local, local_system_prompt=str(lean))).start()
    try:
        openai_client(s).chat.completions.create(
            model="local",
            messages=[{"role": "system", "content": "harness"}, {"role": "user", "content": "hi"}],
        )
        assert local.requests[-1]["messages"][0]["content"].startswith(
            "You are a terse local helper."
        )
    finally:
        s.stop()
