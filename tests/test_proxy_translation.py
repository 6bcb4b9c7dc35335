"""Anthropic and Responses clients through chat, Anthropic and Responses upstreams: translation
both ways, streaming included, with the official anthropic and openai SDKs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fake_llm import FakeLLM, Reply
from tests.proxy_fixtures import (
    TOOLS_ANTHROPIC,
    anthropic_client,
    openai_client,
    proxy_settings,
    routing_events,
)
from tests.proxy_server import ServerThread


# ------------------------------------------------------------------ anthropic
@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_tool_use_round_trip_through_an_openai_upstream(
    server: ServerThread, cloud: FakeLLM, stream: bool
) -> None:
    client = anthropic_client(server)
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
    anthropic_client(server).messages.create(
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
    event = routing_events(server)[0]
    assert event["harness"] == "claude-code" and event["project_dir"] == "/home/me/project"


def test_anthropic_passthrough_to_an_anthropic_upstream_is_untouched(
    tmp_path: Path, cloud: FakeLLM, local: FakeLLM
) -> None:
    s = ServerThread(
        proxy_settings(tmp_path, cloud, local, cloud={"protocol": "anthropic"})
    ).start()
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
            f"{s.url}/v1/messages",
            json=body,
            headers={"anthropic-beta": "x-beta", "anthropic-version": "2099-01-01"},
        )
        assert response.json()["content"][0]["text"] == "cloud says hi"
        assert cloud.requests[-1] == {**body, "model": "big-cloud-model"}
        assert cloud.paths[-1] == "/v1/messages"
        # Claude Code's gateway protocol: both headers reach the upstream unchanged.
        assert cloud.headers[-1]["anthropic-beta"] == "x-beta"
        assert cloud.headers[-1]["anthropic-version"] == "2099-01-01"
        # A chat client through the same Anthropic upstream is translated both ways.
        chunks = list(
            openai_client(s).chat.completions.create(
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
    count = anthropic_client(server).messages.count_tokens(
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
    client = openai_client(server)
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
                "content": [
                    {
                        "type": "input_text",
                        "text": "<environment_context>\n  <cwd>/srv/codex-app</cwd>\n</environment_context>",
                    }
                ],
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
    event = routing_events(server)[-1]
    assert event["project_dir"] == "/srv/codex-app"
    assert event["prompt_excerpt"] == "review my work"  # the user's words, not the context

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
    assert replay[3]["tool_calls"][0]["function"]["name"] == "mcp__brainrouter__request_review"
    assert replay[4] == {
        "role": "tool",
        "tool_call_id": call.call_id,
        "content": '{"status": "approved"}',
    }


def test_responses_passthrough_and_translation_to_a_responses_upstream(
    tmp_path: Path, cloud: FakeLLM, local: FakeLLM
) -> None:
    s = ServerThread(
        proxy_settings(tmp_path, cloud, local, cloud={"protocol": "responses"})
    ).start()
    try:
        result = openai_client(s).responses.create(model="cloud", input="hi", store=False)
        assert result.output_text == "cloud says hi"
        assert cloud.requests[-1] == {"model": "big-cloud-model", "input": "hi", "store": False}
        cloud.script(Reply(None, tool_calls=[("grep", {"q": "x"})]))
        msg = anthropic_client(s).messages.create(
            model="cloud",
            max_tokens=50,
            messages=[{"role": "user", "content": "hi"}],
            tools=[{"name": "grep", "input_schema": {"type": "object"}}],
        )
        assert msg.content[0].type == "tool_use" and msg.content[0].input == {"q": "x"}
        assert cloud.paths[-1] == "/v1/responses"
    finally:
        s.stop()


def test_no_client_limit_gets_the_configured_model_limit_not_4096(
    tmp_path: Path, cloud: FakeLLM
) -> None:
    settings = proxy_settings(
        tmp_path, cloud, None, cloud={"protocol": "anthropic", "max_output_tokens": 64000}
    )
    s = ServerThread(settings).start()
    try:
        openai_client(s).chat.completions.create(
            model="cloud", messages=[{"role": "user", "content": "write a long essay"}]
        )
        openai_client(s).responses.create(model="cloud", input="write a long essay")
        assert [r["max_tokens"] for r in cloud.requests] == [64000, 64000]
        openai_client(s).chat.completions.create(
            model="cloud", max_tokens=100, messages=[{"role": "user", "content": "short"}]
        )
        assert cloud.requests[-1]["max_tokens"] == 100
    finally:
        s.stop()
