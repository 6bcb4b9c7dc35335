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
    from proxy.rewrite import fold_system

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
