"""The routing proxy driven by the official openai and anthropic SDKs, against fake upstreams
that are real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from mcp_server.config import Settings
from proxy.settings import ProxySettings
from tests.conftest import free_port
from tests.fake_llm import FakeLLM, Reply
from tests.proxy_server import ServerThread

TOOLS_ANTHROPIC = [
    {
        "name": "read_file",
        "description": "Read a file",
        "input_schema": {
            "type": "object",
            "properties": {"path": {"type": "string"}},
            "required": ["path"],
        },
    }
]


@pytest.fixture
def cloud() -> Iterator[FakeLLM]:
    llm = FakeLLM(default=Reply("cloud says hi")).start()
    yield llm
    llm.stop()


@pytest.fixture
def local() -> Iterator[FakeLLM]:
    llm = FakeLLM(default=Reply("local says hi")).start()
    yield llm
    llm.stop()


def _settings(
    tmp_path: Path,
    cloud_llm: FakeLLM | None,
    local_llm: FakeLLM | None,
    cloud: dict[str, Any] | None = None,
    local: dict[str, Any] | None = None,
    **proxy: Any,
) -> Settings:
    data: dict[str, Any] = {
        "cloud": {
            "base_url": cloud_llm.base_url if cloud_llm else None,
            "model": "big-cloud-model",
            **(cloud or {}),
        },
        "local": {
            "base_url": local_llm.base_url if local_llm else None,
            "model": "small-local-model",
            "fallback_model": "fallback-local-model",
            **(local or {}),
        },
        "timeouts": {"first_byte_s": 2, "stall_s": 1, "keepalive_s": 0.3, "connect_s": 2},
        **proxy,
    }
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'proxy.db'}", proxy=ProxySettings.model_validate(data)
    )


@pytest.fixture
def server(tmp_path: Path, cloud: FakeLLM, local: FakeLLM) -> Iterator[ServerThread]:
    s = ServerThread(_settings(tmp_path, cloud, local)).start()
    yield s
    s.stop()


def _openai(server: ServerThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)


def _anthropic(server: ServerThread) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key="unused", max_retries=0)


def _events(server: ServerThread) -> list[dict[str, Any]]:
    return list(httpx.get(f"{server.url}/api/routing-events").json()["events"])


# ------------------------------------------------------------------ chat completions
def test_chat_routes_by_model(server: ServerThread, cloud: FakeLLM, local: FakeLLM) -> None:
    client = _openai(server)
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
        model="auto", messages=[{"role": "user", "content": "short question"}]
    )
    assert (
        answer.choices[0].message.content == "local says hi"
    )  # the rule sends short requests local

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
        _openai(server).chat.completions.create(
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
    _openai(server).chat.completions.create(
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


# ------------------------------------------------------------------ anthropic
@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_tool_use_round_trip_through_an_openai_upstream(
    server: ServerThread, cloud: FakeLLM, stream: bool
) -> None:
    client = _anthropic(server)
    cloud.script(
        Reply("Let me look.", tool_calls=[("read_file", {"path": "README.md"})]),
        Reply("It is a calculator."),
    )
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What is in README.md?"}]
    kwargs: dict[str, Any] = {
        "model": "cloud",
        "max_tokens": 1024,
        "tools": TOOLS_ANTHROPIC,
        "system": [
            {"type": "text", "text": "You are helpful.", "cache_control": {"type": "ephemeral"}}
        ],
    }
    if stream:
        with client.messages.stream(messages=messages, **kwargs) as s:  # type: ignore[arg-type]
            first = s.get_final_message()
    else:
        first = client.messages.create(messages=messages, **kwargs)  # type: ignore[arg-type,assignment]
    assert first.stop_reason == "tool_use"
    tool_use = next(b for b in first.content if b.type == "tool_use")
    assert tool_use.name == "read_file" and tool_use.input == {"path": "README.md"}
    sent = cloud.requests[-1]
    assert sent["messages"][0] == {"role": "system", "content": "You are helpful."}
    assert sent["tools"][0]["function"]["name"] == "read_file"

    messages += [
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": tool_use.id,
                    "content": [{"type": "text", "text": "# Calculator"}],
                }
            ],
        },
    ]
    second = client.messages.create(messages=messages, **kwargs)  # type: ignore[arg-type]
    assert second.content[0].type == "text" and second.content[0].text == "It is a calculator."
    replay = cloud.requests[-1]["messages"]
    assert replay[2]["tool_calls"][0]["id"] == tool_use.id
    assert json.loads(replay[2]["tool_calls"][0]["function"]["arguments"]) == {"path": "README.md"}
    assert replay[3] == {"role": "tool", "tool_call_id": tool_use.id, "content": "# Calculator"}


def test_anthropic_images_and_mid_conversation_system(server: ServerThread, cloud: FakeLLM) -> None:
    _anthropic(server).messages.create(
        model="cloud",
        max_tokens=100,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/png",
                            "data": "iVBORw0KGgo=",
                        },
                    },
                ],
            },
            {"role": "system", "content": "Reminder: be brief."},  # type: ignore[typeddict-item]
        ],
    )
    sent = cloud.requests[-1]["messages"]
    assert sent[0]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="},
    }
    assert sent[1] == {"role": "system", "content": "Reminder: be brief."}


def test_a_claude_code_shaped_request_is_accepted(server: ServerThread, cloud: FakeLLM) -> None:
    assert httpx.head(f"{server.url}/").status_code == 200
    body = {
        "model": "brainrouter/cloud",
        "max_tokens": 32000,
        "stream": True,
        "system": [
            {
                "type": "text",
                "text": "You are Claude Code.",
                "cache_control": {"type": "ephemeral"},
            },
            {"type": "text", "text": "Working directory: /home/me/project"},
        ],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "fix the bug", "cache_control": {"type": "ephemeral"}}
                ],
            }
        ],
        "tools": [{**TOOLS_ANTHROPIC[0], "defer_loading": True}],
        "thinking": {"type": "enabled", "budget_tokens": 4000},
        "metadata": {"user_id": json.dumps({"device_id": "x", "session_id": "y"})},
        "context_management": {"edits": []},
        "output_config": {"effort": "high"},
    }
    headers = {
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14",
        "x-app": "cli",
        "authorization": "Bearer not-used",
        "X-Claude-Code-Session-Id": "abc",
        "accept-encoding": "gzip, deflate, br, zstd",
        "user-agent": "claude-cli/2.1.0 (external, cli)",
    }
    with httpx.stream(
        "POST", f"{server.url}/v1/messages?beta=true", json=body, headers=headers
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        text = response.read().decode()
    assert "event: message_start" in text and "event: message_stop" in text
    deltas = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]
    said = "".join(d["delta"].get("text", "") for d in deltas if d["type"] == "content_block_delta")
    assert said.strip() == "cloud says hi"
    sent = cloud.requests[-1]
    assert sent["max_tokens"] == 32000 and sent["stream"] is True
    assert sent["messages"][0]["content"].startswith("You are Claude Code.")
    event = _events(server)[0]
    assert event["harness"] == "claude-code" and event["project_dir"] == "/home/me/project"


def test_anthropic_passthrough_to_an_anthropic_upstream_is_untouched(
    tmp_path: Path, cloud: FakeLLM, local: FakeLLM
) -> None:
    s = ServerThread(_settings(tmp_path, cloud, local, cloud={"protocol": "anthropic"})).start()
    try:
        body = {
            "model": "cloud",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": "hi"}],
            "thinking": {"type": "adaptive"},
            "metadata": {"user_id": "u"},
            "system": [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}],
        }
        response = httpx.post(
            f"{s.url}/v1/messages", json=body, headers={"anthropic-beta": "x-beta"}
        )
        assert response.json()["content"][0]["text"] == "cloud says hi"
        assert cloud.requests[-1] == {**body, "model": "big-cloud-model"}
        assert cloud.paths[-1] == "/v1/messages"
        assert cloud.headers[-1]["anthropic-beta"] == "x-beta"
        # A chat client through the same Anthropic upstream is translated both ways.
        chunks = list(
            _openai(s).chat.completions.create(
                model="cloud", stream=True, messages=[{"role": "user", "content": "hi"}]
            )
        )
        assert (
            "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).strip()
            == "cloud says hi"
        )
    finally:
        s.stop()


def test_count_tokens(server: ServerThread) -> None:
    count = _anthropic(server).messages.count_tokens(
        model="cloud", messages=[{"role": "user", "content": "hello " * 100}]
    )
    assert 100 <= count.input_tokens <= 400


# ------------------------------------------------------------------ responses
NAMESPACE_TOOLS = [
    {
        "type": "function",
        "name": "shell",
        "description": "run",
        "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}},
    },
    {
        "type": "namespace",
        "name": "mcp__brainrouter",
        "description": "MCP server",
        "tools": [
            {
                "type": "function",
                "name": "request_review",
                "description": "review",
                "parameters": {"type": "object", "properties": {"taskId": {"type": "string"}}},
            }
        ],
    },
]


@pytest.mark.parametrize("stream", [False, True])
def test_responses_function_call_round_trip_through_a_chat_upstream(
    server: ServerThread, cloud: FakeLLM, stream: bool
) -> None:
    client = _openai(server)
    cloud.script(
        Reply(None, tool_calls=[("mcp__brainrouter__request_review", {"taskId": "t-1"})]),
        Reply("Review approved."),
    )
    request: dict[str, Any] = {
        "model": "cloud",
        "tools": NAMESPACE_TOOLS,
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "reasoning": {"summary": "auto"},
        "store": False,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "k",
        "input": [
            {
                "type": "message",
                "role": "developer",
                "content": [{"type": "input_text", "text": "You are Codex."}],
            },
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "review my work"}],
                "id": "item_1",
            },
        ],
    }
    if stream:
        events = list(client.responses.create(stream=True, **request))
        kinds = [e.type for e in events]
        assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
        assert "response.function_call_arguments.delta" in kinds
        first = events[-1].response  # type: ignore[union-attr]
    else:
        first = client.responses.create(**request)
    call = next(item for item in first.output if item.type == "function_call")
    assert call.name == "request_review"
    assert getattr(call, "namespace", None) == "mcp__brainrouter"
    assert json.loads(call.arguments) == {"taskId": "t-1"}
    sent = cloud.requests[-1]
    assert {t["function"]["name"] for t in sent["tools"]} == {
        "shell",
        "mcp__brainrouter__request_review",
    }
    assert sent["messages"][0] == {"role": "system", "content": "You are Codex."}

    request["input"] += [
        {
            "type": "function_call",
            "call_id": call.call_id,
            "name": "request_review",
            "namespace": "mcp__brainrouter",
            "arguments": call.arguments,
        },
        {
            "type": "function_call_output",
            "call_id": call.call_id,
            "output": '{"status": "approved"}',
        },
    ]
    second = client.responses.create(**request)
    assert second.output_text == "Review approved."
    replay = cloud.requests[-1]["messages"]
    assert replay[2]["tool_calls"][0]["function"]["name"] == "mcp__brainrouter__request_review"
    assert replay[3] == {
        "role": "tool",
        "tool_call_id": call.call_id,
        "content": '{"status": "approved"}',
    }


def test_responses_passthrough_and_translation_to_a_responses_upstream(
    tmp_path: Path, cloud: FakeLLM, local: FakeLLM
) -> None:
    s = ServerThread(_settings(tmp_path, cloud, local, cloud={"protocol": "responses"})).start()
    try:
        result = _openai(s).responses.create(model="cloud", input="hi", store=False)
        assert result.output_text == "cloud says hi"
        assert cloud.requests[-1] == {"model": "big-cloud-model", "input": "hi", "store": False}
        cloud.script(Reply(None, tool_calls=[("grep", {"q": "x"})]))
        msg = _anthropic(s).messages.create(
            model="cloud",
            max_tokens=50,
            messages=[{"role": "user", "content": "hi"}],
            tools=[{"name": "grep", "input_schema": {"type": "object"}}],
        )
        assert msg.content[0].type == "tool_use" and msg.content[0].input == {"q": "x"}
        assert cloud.paths[-1] == "/v1/responses"
    finally:
        s.stop()


# ------------------------------------------------------------------ failures
@pytest.mark.parametrize(
    "reply",
    [Reply(status=500), Reply(status=429), Reply(hang=True)],
    ids=["http-500", "http-429", "no-first-byte"],
)
@pytest.mark.parametrize("stream", [False, True])
def test_cloud_failures_fall_back_to_local(
    server: ServerThread, cloud: FakeLLM, local: FakeLLM, reply: Reply, stream: bool
) -> None:
    cloud.script(reply)
    client = _openai(server)
    if stream:
        chunks = list(
            client.chat.completions.create(
                model="cloud", stream=True, messages=[{"role": "user", "content": "hi"}]
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).strip()
    else:
        text = (
            client.chat.completions.create(
                model="cloud", messages=[{"role": "user", "content": "hi"}]
            )
            .choices[0]
            .message.content
            or ""
        )
    assert text.strip() == "local says hi"
    assert local.requests[-1]["model"] == "fallback-local-model"
    event = _events(server)[0]
    assert event["fallback"] is True and event["upstream"] == "local" and event["status"] == "ok"
    assert event["fallback_reason"]


def test_refused_connection_falls_back(tmp_path: Path, local: FakeLLM) -> None:
    settings = _settings(
        tmp_path, None, local, cloud={"base_url": f"http://127.0.0.1:{free_port()}/v1"}
    )
    s = ServerThread(settings).start()
    try:
        answer = _openai(s).chat.completions.create(
            model="cloud", messages=[{"role": "user", "content": "hi"}]
        )
        assert answer.choices[0].message.content == "local says hi"
        assert "cannot connect" in _events(s)[0]["fallback_reason"]
    finally:
        s.stop()


def test_client_errors_are_not_retried_elsewhere(
    server: ServerThread, cloud: FakeLLM, local: FakeLLM
) -> None:
    cloud.script(Reply(status=400, raw_body=json.dumps({"error": {"message": "bad tool schema"}})))
    with pytest.raises(openai.BadRequestError, match="bad tool schema"):
        _openai(server).chat.completions.create(
            model="cloud", messages=[{"role": "user", "content": "hi"}]
        )
    assert local.requests == []


@pytest.mark.parametrize(
    "failure",
    [Reply("a b c d", stall_after=2), Reply("a b c d", malformed_after=2)],
    ids=["stall", "malformed"],
)
def test_mid_stream_failure_ends_with_an_error_event(
    server: ServerThread, cloud: FakeLLM, failure: Reply
) -> None:
    cloud.script(failure)
    with pytest.raises(openai.APIError):
        list(
            _openai(server).chat.completions.create(
                model="cloud", stream=True, messages=[{"role": "user", "content": "hi"}]
            )
        )
    cloud.script(Reply("a b c d", stall_after=2))
    with (
        pytest.raises(anthropic.APIStatusError),
        _anthropic(server).messages.stream(
            model="cloud", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        ) as s,
    ):
        s.get_final_message()
    events = _events(server)
    assert events[0]["status"] == "upstream_error"


def test_keepalive_comments_during_silence(tmp_path: Path, cloud: FakeLLM, local: FakeLLM) -> None:
    settings = _settings(tmp_path, cloud, local)
    settings.proxy.timeouts.stall_s = 5
    settings.proxy.timeouts.keepalive_s = 0.1
    s = ServerThread(settings).start()
    try:
        cloud.script(Reply("slow words here", chunk_delay_s=0.35))
        body = {"model": "cloud", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        with httpx.stream(
            "POST", f"{s.url}/v1/chat/completions", json=body, timeout=10
        ) as response:
            text = response.read().decode()
        assert ": keep-alive" in text
        assert text.rstrip().endswith("data: [DONE]")
    finally:
        s.stop()


def test_breaker_opens_then_half_opens_then_closes(
    server: ServerThread, cloud: FakeLLM, local: FakeLLM
) -> None:
    client = _openai(server)
    breaker = server.app.state.proxy.service.cloud.breaker
    cloud.script(Reply(status=500), Reply(status=500), Reply(status=500))
    for _ in range(3):
        client.chat.completions.create(model="cloud", messages=[{"role": "user", "content": "hi"}])
    assert breaker.state == "open"
    calls = len(cloud.requests)
    answer = client.chat.completions.create(
        model="cloud", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content == "local says hi"
    assert len(cloud.requests) == calls  # open: the cloud is not even tried
    health = httpx.get(f"{server.url}/api/service-health").json()
    assert health["cloud"]["status"] == "breaker_open"

    breaker.opened_at -= breaker.cooldown_s  # the cooldown has passed
    answer = client.chat.completions.create(
        model="cloud", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content == "cloud says hi"  # the half-open probe succeeded
    assert breaker.state == "closed"
    assert httpx.get(f"{server.url}/api/service-health").json()["cloud"]["status"] == "up"


def test_a_client_disconnect_is_not_an_upstream_failure(
    server: ServerThread, cloud: FakeLLM
) -> None:
    gate = threading.Event()
    cloud.script(Reply("a " * 50, gate=gate, chunk_delay_s=0.01))
    body = {"model": "cloud", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    with httpx.stream(
        "POST", f"{server.url}/v1/chat/completions", json=body, timeout=10
    ) as response:
        next(response.iter_lines())
    gate.set()
    breaker = server.app.state.proxy.service.cloud.breaker
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # poll until the proxy has recorded the request
        events = _events(server)
        if events and events[0]["status"] == "client_closed":
            break
        time.sleep(0.05)
    assert events[0]["status"] == "client_closed"
    assert breaker.consecutive_failures == 0 and breaker.state == "closed"
    while (
        cloud.disconnects == 0 and time.monotonic() < deadline
    ):  # the upstream request was cancelled
        time.sleep(0.05)
    assert cloud.disconnects == 1


# ------------------------------------------------------------------ errors, models, events
def test_bad_requests_get_errors_in_the_clients_shape(server: ServerThread) -> None:
    chat = httpx.post(f"{server.url}/v1/chat/completions", content=b"{not json")
    assert chat.status_code == 400 and "not valid JSON" in chat.json()["error"]["message"]
    messages = httpx.post(f"{server.url}/v1/messages", json={"model": "cloud"})
    assert messages.status_code == 400
    assert messages.json()["type"] == "error" and "messages" in messages.json()["error"]["message"]
    responses_ = httpx.post(f"{server.url}/v1/responses", json={"model": 3, "input": "x"})
    assert responses_.status_code == 400 and "model" in responses_.json()["error"]["message"]
    with pytest.raises(anthropic.BadRequestError):
        _anthropic(server).messages.create(
            model="", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )


def test_body_size_limit(tmp_path: Path, cloud: FakeLLM, local: FakeLLM) -> None:
    s = ServerThread(_settings(tmp_path, cloud, local, max_body_bytes=2048)).start()
    try:
        big = {"model": "cloud", "messages": [{"role": "user", "content": "x" * 5000}]}
        response = httpx.post(f"{s.url}/v1/messages", json=big)
        assert (
            response.status_code == 413 and response.json()["error"]["type"] == "request_too_large"
        )
    finally:
        s.stop()


def test_unknown_model_without_a_cloud(tmp_path: Path, local: FakeLLM) -> None:
    s = ServerThread(_settings(tmp_path, None, local)).start()
    try:
        with pytest.raises(openai.NotFoundError, match="unknown model"):
            _openai(s).chat.completions.create(
                model="no-such-model", messages=[{"role": "user", "content": "x"}]
            )
        with pytest.raises(openai.APIStatusError, match="no cloud upstream"):
            _openai(s).chat.completions.create(
                model="cloud", messages=[{"role": "user", "content": "x"}]
            )
        # auto falls to the upstream that exists
        answer = _openai(s).chat.completions.create(
            model="auto", messages=[{"role": "user", "content": "x" * 9000}]
        )
        assert answer.choices[0].message.content == "local says hi"
    finally:
        s.stop()


def test_models_and_dashboard_api(server: ServerThread) -> None:
    ids = [m.id for m in _openai(server).models.list()]
    assert ids[:3] == ["auto", "local", "cloud"] and "fake-local-1" in ids
    assert httpx.get(f"{server.url}/health").json()["status"] == "ok"
    _openai(server).chat.completions.create(
        model="cloud", messages=[{"role": "user", "content": "count me"}]
    )
    event = _events(server)[0]
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
