"""The local route as coding agents meet it: recorded harness requests keep what the agent
needs, system messages folded for chat templates, a local reasoning model's thoughts in the
client's format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fake_llm import FakeLLM, Reply
from tests.proxy_fixtures import anthropic_client, openai_client, proxy_settings
from tests.proxy_server import ServerThread


def test_a_mid_conversation_system_message_is_folded_for_the_local_chat_upstream(
    tmp_path: Path, cloud: FakeLLM, local: FakeLLM
) -> None:
    settings = proxy_settings(tmp_path, cloud, local, local_rewrite=False)
    s = ServerThread(settings).start()
    try:
        messages: Any = [
            {"role": "user", "content": "fix it"},
            {"role": "assistant", "content": "ok"},
            {"role": "system", "content": "Reminder: be brief."},
            {"role": "user", "content": "go on"},
        ]
        anthropic_client(s).messages.create(
            model="local", max_tokens=20, system="You are a coding agent.", messages=messages
        )
        sent = local.requests[-1]["messages"]
        assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
        assert "Reminder: be brief." in sent[0]["content"]
        anthropic_client(s).messages.create(
            model="cloud", max_tokens=20, system="You are a coding agent.", messages=messages
        )
        assert [m["role"] for m in cloud.requests[-1]["messages"]].count("system") == 2  # as sent
    finally:
        s.stop()


@pytest.mark.parametrize(
    ("fixture", "path", "expected", "tool"),
    [
        (
            "claude-code-request.json",
            "/v1/messages",
            "Primary working directory: /home/dev/shop",
            "Bash",
        ),
        (
            "codex-request.json",
            "/v1/responses",
            "Always run the tests with `make test`.",
            "exec_command",
        ),
    ],
)
def test_recorded_harness_requests_routed_local_keep_what_the_agent_needs(
    server: ServerThread, local: FakeLLM, fixture: str, path: str, expected: str, tool: str
) -> None:
    recorded = json.loads((Path(__file__).parent / "fixtures" / fixture).read_text())
    body = {**recorded["body"], "model": "local"}
    with httpx.stream("POST", f"{server.url}{path}", json=body, timeout=30) as response:
        assert response.status_code == 200
        response.read()
    sent = local.requests[-1]
    assert expected in json.dumps(sent["messages"])
    assert tool in [t["function"]["name"] for t in sent["tools"]]  # tool definitions kept


@pytest.mark.parametrize("stream", [False, True])
def test_a_local_reasoning_model_thinks_in_the_clients_format(
    server: ServerThread, local: FakeLLM, stream: bool
) -> None:
    local.script(Reply("The answer is 4.", reasoning="two plus two"))
    client = anthropic_client(server)
    messages: Any = [{"role": "user", "content": "2+2?"}]
    message: Any
    if stream:
        with client.messages.stream(model="local", max_tokens=50, messages=messages) as s:
            message = s.get_final_message()
    else:
        message = client.messages.create(model="local", max_tokens=50, messages=messages)
    kinds = [block.type for block in message.content]
    assert kinds == ["thinking", "text"]
    assert message.content[0].thinking.strip() == "two plus two"  # type: ignore[union-attr]

    local.script(Reply("The answer is 4.", reasoning="two plus two"))
    openai = openai_client(server)
    response: Any
    if stream:
        with openai.responses.stream(model="local", input="2+2?") as s:
            response = s.get_final_response()
    else:
        response = openai.responses.create(model="local", input="2+2?")
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert response.output[0].summary[0].text.strip() == "two plus two"  # type: ignore[union-attr]
    assert response.output_text.strip() == "The answer is 4."
