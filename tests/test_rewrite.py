from typing import Any

from proxy.rewrite import rewrite

LEAN = "LEAN PROMPT"


def test_chat_rewrite_keeps_tools_and_conversation() -> None:
    body: dict[str, Any] = {
        "model": "m",
        "tools": [{"type": "function"}],
        "messages": [
            {"role": "system", "content": "long"},
            {"role": "developer", "content": "rules"},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "yo"},
        ],
    }
    out = rewrite("openai", body, LEAN)
    assert out["messages"] == [
        {"role": "system", "content": LEAN},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "yo"},
    ]
    assert out["tools"] == body["tools"]
    assert body["messages"][0]["content"] == "long"  # the original is not modified


def test_anthropic_rewrite() -> None:
    out = rewrite(
        "anthropic",
        {
            "system": [{"type": "text", "text": "long"}],
            "messages": [{"role": "user", "content": "hi"}, {"role": "system", "content": "mid"}],
            "tools": [1],
        },
        LEAN,
    )
    assert out == {"system": LEAN, "messages": [{"role": "user", "content": "hi"}], "tools": [1]}


def test_responses_rewrite() -> None:
    out = rewrite(
        "responses",
        {
            "instructions": "long",
            "input": [
                {"type": "message", "role": "developer", "content": "rules"},
                {"type": "message", "role": "user", "content": "hi"},
                {"type": "function_call_output", "call_id": "c", "output": "x"},
            ],
        },
        LEAN,
    )
    assert out["instructions"] == LEAN
    assert [i.get("role", i["type"]) for i in out["input"]] == ["user", "function_call_output"]


def test_system_messages_are_folded_to_the_front() -> None:
    from proxy.translate.chat import fold_system

    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a coding agent."},
        {"role": "user", "content": "fix the bug"},
        {"role": "assistant", "content": "looking"},
        {"role": "system", "content": [{"type": "text", "text": "Reminder: be brief."}]},
        {"role": "user", "content": "go on"},
    ]
    folded = fold_system(messages)
    assert folded[0] == {
        "role": "system",
        "content": "You are a coding agent.\n\nReminder: be brief.",
    }
    assert [m["role"] for m in folded] == ["system", "user", "assistant", "user"]
    plain = messages[:3]
    assert fold_system(plain) is plain  # nothing to move: untouched


FIXTURES = __import__("pathlib").Path(__file__).parent / "fixtures"


def _fixture(name: str) -> dict[str, Any]:
    import json

    return dict(json.loads((FIXTURES / name).read_text()))


def test_claude_code_keeps_its_environment_and_tool_list_on_the_local_route() -> None:
    body = _fixture("claude-code-request.json")["body"]
    # Newer releases list deferred MCP tools in a mid-conversation system message.
    body["messages"].append(
        {
            "role": "system",
            "content": "<available-deferred-tools>\nmcp__brainrouter__request_review\n"
            "mcp__brainrouter__get_session_list\n</available-deferred-tools>",
        }
    )
    out = rewrite("anthropic", body, "LEAN")
    system = out["system"]
    assert system.startswith("LEAN")
    assert "Primary working directory: /home/dev/shop" in system
    assert "mcp__brainrouter__request_review" in system
    assert "You are an interactive agent" not in system  # the harness's boilerplate went
    assert len(system) < 4000
    assert all(m["role"] != "system" for m in out["messages"])
    # The project's CLAUDE.md travels in the user's own message: untouched.
    assert "Use tabs." in out["messages"][0]["content"][0]["text"]


def test_codex_keeps_agents_md_and_its_environment() -> None:
    body = _fixture("codex-request.json")["body"]
    out = rewrite("responses", body, "LEAN")
    sent = str(out["input"])
    assert "Always run the tests with `make test`." in sent
    assert "<cwd>/home/dev/shop</cwd>" in sent
    assert "You are a coding agent running in the Codex CLI" not in sent + out["instructions"]


def test_opencode_style_instructions_survive() -> None:
    chat = {
        "messages": [
            {
                "role": "system",
                "content": "You are opencode, an interactive CLI tool.\n\n# Tone\nBe concise.\n\n"
                "Instructions from: /home/dev/shop/AGENTS.md\n# Shop\nAlways run `make test`.\n",
            },
            {"role": "user", "content": "add divide"},
        ]
    }
    out = rewrite("openai", chat, "LEAN")
    system = out["messages"][0]["content"]
    assert "Always run `make test`." in system and "You are opencode" not in system
