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
