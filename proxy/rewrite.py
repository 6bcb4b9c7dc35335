"""Local-mode prompt rewrite (P9): harness system prompts (6-27 k characters) drown small
local models. The prose system prompt and developer messages are replaced by a lean one with
anti-loop directives; tool definitions are kept."""

from __future__ import annotations

from typing import Any

from proxy.settings import Protocol


def rewrite(protocol: Protocol, body: dict[str, Any], lean_prompt: str) -> dict[str, Any]:
    body = dict(body)
    if protocol == "anthropic":
        body["system"] = lean_prompt
        body["messages"] = [m for m in body.get("messages") or [] if m.get("role") != "system"]
    elif protocol == "responses":
        body["instructions"] = lean_prompt
        items = body.get("input")
        if isinstance(items, list):
            body["input"] = [
                i
                for i in items
                if not (
                    isinstance(i, dict)
                    and i.get("role") in ("system", "developer")
                    and i.get("type", "message") == "message"
                )
            ]
    else:
        messages = [
            m for m in body.get("messages") or [] if m.get("role") not in ("system", "developer")
        ]
        body["messages"] = [{"role": "system", "content": lean_prompt}, *messages]
    return body


def fold_system(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat messages with every system (or developer) message moved into one leading system
    message: many local chat templates (llama.cpp's among them) refuse a system message after
    the conversation started, which Claude Code sends."""
    system_at = [i for i, m in enumerate(messages) if m.get("role") in ("system", "developer")]
    if system_at in ([], [0]):
        return messages
    texts = [text for i in system_at if (text := _text_parts(messages[i].get("content")))]
    rest = [m for i, m in enumerate(messages) if i not in set(system_at)]
    return ([{"role": "system", "content": "\n\n".join(texts)}] if texts else []) + rest


def _text_parts(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return "" if content is None else str(content)
    return "\n".join(
        str(part.get("text", "")) for part in content if isinstance(part, dict) and "text" in part
    )
