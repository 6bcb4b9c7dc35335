"""Tool loops other gateways break: Codex's custom tools through a chat upstream, and extended
thinking blocks with their signatures, untouched by translation and the privacy guard."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.fake_llm import FakeLLM, Reply
from tests.proxy_server import ServerThread

PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** End Patch"
APPLY_PATCH = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Edit files with a patch.",
    "format": {"type": "grammar", "syntax": "lark", "definition": "start: begin_patch hunk+"},
}


@pytest.mark.parametrize("stream", [False, True])
def test_codex_custom_tools_through_a_chat_upstream(
    server: ServerThread, local: FakeLLM, stream: bool
) -> None:
    local.script(Reply(tool_calls=[("apply_patch", {"input": PATCH})]))
    body = {"model": "local", "input": "add hello.txt", "tools": [APPLY_PATCH], "stream": stream}
    if stream:
        with httpx.stream("POST", f"{server.url}/v1/responses", json=body) as response:
            events = [
                json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")
            ]
        kinds = [e["type"] for e in events]
        assert "response.custom_tool_call_input.done" in kinds
        output = next(e for e in events if e["type"] == "response.completed")["response"]["output"]
    else:
        output = httpx.post(f"{server.url}/v1/responses", json=body).json()["output"]
    call = output[-1]
    assert call["type"] == "custom_tool_call" and call["name"] == "apply_patch"
    assert call["input"] == PATCH
    # The chat model saw a function with one string parameter, and the grammar in its text.
    tool = local.requests[-1]["tools"][0]["function"]
    assert tool["parameters"]["required"] == ["input"] and "begin_patch" in tool["description"]

    # The next turn carries the call and its output back: the chat model sees both.
    follow_up = {
        "model": "local",
        "tools": [APPLY_PATCH],
        "input": [
            {"type": "message", "role": "user", "content": "add hello.txt"},
            {
                "type": "custom_tool_call",
                "call_id": call["call_id"],
                "name": "apply_patch",
                "input": PATCH,
            },
            {"type": "custom_tool_call_output", "call_id": call["call_id"], "output": "Done!"},
        ],
    }
    assert httpx.post(f"{server.url}/v1/responses", json=follow_up).status_code == 200
    sent = [m for m in local.requests[-1]["messages"] if m["role"] != "system"]  # lean prompt
    assert sent[1]["tool_calls"][0]["function"] == {
        "name": "apply_patch",
        "arguments": json.dumps({"input": PATCH}),
    }
    assert sent[2] == {"role": "tool", "tool_call_id": call["call_id"], "content": "Done!"}


def test_thinking_blocks_and_signatures_pass_through_a_tool_loop_untouched(
    anthropic_cloud: ServerThread, cloud: FakeLLM
) -> None:
    thinking = {
        "type": "thinking",
        # Looks like a secret to the privacy guard: still never changed (it is signed).
        "thinking": "The config has api_key = 'AKIAZ7QWERTYUIOPASDF'; read it first.",
        "signature": "EqQBCkgIARABGAIiQL" + "x" * 80,
    }
    body = {
        "model": "cloud",
        "max_tokens": 50,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": [
            {"role": "user", "content": "read config"},
            {
                "role": "assistant",
                "content": [
                    thinking,
                    {"type": "tool_use", "id": "t1", "name": "Read", "input": {"p": "c"}},
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "x=1"}],
            },
        ],
    }
    assert httpx.post(f"{anthropic_cloud.url}/v1/messages", json=body).status_code == 200
    sent = cloud.requests[-1]
    assert sent["messages"][1]["content"][0] == thinking
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 1024}
