"""OpenAI Responses API ⇄ chat completions: requests, responses and streams.

Codex sends MCP tools as namespaces ({"type": "namespace", "name": "mcp__srv", "tools": [...]})
and expects function calls back with `namespace` and the tool's own name. A chat upstream only
knows flat names, so each is flattened to "<namespace>__<name>" and mapped back exactly.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from proxy.translate.chat import reasoning_of
from proxy.translate.shapes import ChatCompletion


@dataclass
class ToolNames:
    """Flat chat tool name → (namespace, name) as the client declared them."""

    by_flat: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    # Custom tools (Codex's apply_patch...) take free text: a chat model calls them as a
    # function with one string argument, `input`.
    custom: set[str] = field(default_factory=set)

    def flatten(self, namespace: str | None, name: str) -> str:
        flat = f"{namespace}__{name}" if namespace else name
        self.by_flat[flat] = (namespace, name)
        return flat

    def restore(self, flat: str) -> tuple[str | None, str]:
        return self.by_flat.get(flat, (None, flat))


def _content_parts(content: Any) -> Any:
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for part in content or []:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text", "summary_text"):
            parts.append({"type": "text", "text": part.get("text", "")})
        elif kind == "input_image":
            url = part.get("image_url") or part.get("url")
            if url:
                parts.append({"type": "image_url", "image_url": {"url": url}})
        elif kind == "refusal":
            parts.append({"type": "text", "text": part.get("refusal", "")})
    if all(p["type"] == "text" for p in parts):
        return "\n".join(p["text"] for p in parts)
    return parts


_CUSTOM_PARAMETERS = {
    "type": "object",
    "properties": {"input": {"type": "string", "description": "The tool's whole input, as text"}},
    "required": ["input"],
}


def _custom_tool(tool: dict[str, Any], names: ToolNames) -> dict[str, Any]:
    name = str(tool.get("name", ""))
    names.custom.add(name)
    description = tool.get("description") or ""
    grammar = (tool.get("format") or {}).get("definition")
    if isinstance(grammar, str) and grammar:
        description += f"\n\nThe input must follow this grammar:\n{grammar}"
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": _CUSTOM_PARAMETERS},
    }


def custom_input(arguments: str) -> str:
    """A chat call's JSON arguments back to a custom tool's free text."""
    try:
        value = json.loads(arguments or "{}")
    except ValueError:
        return arguments
    if isinstance(value, dict) and isinstance(value.get("input"), str):
        return str(value["input"])
    return arguments


def _function_tool(tool: dict[str, Any], names: ToolNames, namespace: str | None) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": names.flatten(namespace, str(tool.get("name", ""))),
            "description": tool.get("description") or "",
            "parameters": tool.get("parameters") or {"type": "object", "properties": {}},
        },
    }


def request_to_chat(body: dict[str, Any]) -> tuple[dict[str, Any], ToolNames]:
    names = ToolNames()
    tools: list[dict[str, Any]] = []
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        if tool.get("type") == "function":
            tools.append(_function_tool(tool, names, None))
        elif tool.get("type") == "custom":
            tools.append(_custom_tool(tool, names))
        elif tool.get("type") == "namespace":
            for inner in tool.get("tools") or []:
                if isinstance(inner, dict) and inner.get("type", "function") == "function":
                    tools.append(_function_tool(inner, names, str(tool.get("name", ""))))
        # Hosted tools (web_search, file_search, local_shell...) have no chat equivalent.

    messages: list[dict[str, Any]] = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": str(body["instructions"])})
    items = body.get("input")
    if isinstance(items, str):
        items = [{"type": "message", "role": "user", "content": items}]
    for item in items or []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role", "user")
            role = "system" if role == "developer" else role
            messages.append({"role": role, "content": _content_parts(item.get("content"))})
        elif kind in ("function_call", "custom_tool_call"):
            if kind == "custom_tool_call":
                name = str(item.get("name", ""))
                arguments = json.dumps({"input": str(item.get("input") or "")})
            else:
                name = names.flatten(item.get("namespace"), str(item.get("name", "")))
                arguments = item.get("arguments") or "{}"
            call = {
                "id": item.get("call_id") or item.get("id") or "",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            elif (
                last is not None
                and last["role"] == "assistant"
                and isinstance(last.get("content"), str)
            ):
                last["tool_calls"] = [call]
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind in ("function_call_output", "custom_tool_call_output"):
            output = item.get("output")
            text = output if isinstance(output, str) else _content_parts(output)
            messages.append(
                {"role": "tool", "tool_call_id": item.get("call_id", ""), "content": text}
            )
        # reasoning items and hosted tool calls are not replayed to a chat model

    chat: dict[str, Any] = {"model": body.get("model"), "messages": messages}
    if tools:
        chat["tools"] = tools
        choice = body.get("tool_choice")
        if isinstance(choice, str):
            chat["tool_choice"] = choice
        elif isinstance(choice, dict) and choice.get("type") == "function":
            chat["tool_choice"] = {"type": "function", "function": {"name": choice.get("name", "")}}
        if body.get("parallel_tool_calls") is not None:
            chat["parallel_tool_calls"] = body["parallel_tool_calls"]
    if body.get("max_output_tokens") is not None:
        chat["max_tokens"] = body["max_output_tokens"]
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            chat[key] = body[key]
    if body.get("stream"):
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat, names


def usage_of(usage: Mapping[str, Any] | None) -> dict[str, Any]:
    usage = usage or {}
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    cached = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


def reasoning_item(text: str, item_id: str) -> dict[str, Any]:
    return {"type": "reasoning", "id": item_id, "summary": [{"type": "summary_text", "text": text}]}


def message_item(text: str, item_id: str, status: str = "completed") -> dict[str, Any]:
    return {
        "type": "message",
        "id": item_id,
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}]
        if text or status == "completed"
        else [],
    }


def call_item(
    call_id: str,
    flat: str,
    arguments: str,
    names: ToolNames,
    item_id: str,
    status: str = "completed",
) -> dict[str, Any]:
    if flat in names.custom:
        return {
            "type": "custom_tool_call",
            "id": item_id,
            "call_id": call_id,
            "name": flat,
            "input": custom_input(arguments) if status == "completed" else "",
            "status": status,
        }
    namespace, name = names.restore(flat)
    item: dict[str, Any] = {
        "type": "function_call",
        "id": item_id,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }
    if namespace:
        item["namespace"] = namespace
    return item


def envelope(
    body: dict[str, Any],
    model: str,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    response_id: str,
    created: int,
) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": status,
        "model": model,
        "output": output,
        "usage": usage,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": body.get("instructions"),
        "metadata": body.get("metadata") or {},
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "temperature": body.get("temperature"),
        "top_p": body.get("top_p"),
        "max_output_tokens": body.get("max_output_tokens"),
        "text": {"format": {"type": "text"}},
        "truncation": "disabled",
        "store": False,
    }


def response_from_chat(
    chat: ChatCompletion, body: dict[str, Any], names: ToolNames, model: str
) -> dict[str, Any]:
    choice = (chat.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    output: list[dict[str, Any]] = []
    if thought := reasoning_of(message):
        output.append(reasoning_item(thought, f"rs_{uuid.uuid4().hex[:24]}"))
    text = _content_parts(message.get("content")) if message.get("content") else ""
    if text:
        output.append(message_item(str(text), f"msg_{uuid.uuid4().hex[:24]}"))
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        output.append(
            call_item(
                call.get("id") or f"call_{uuid.uuid4().hex[:24]}",
                function.get("name", ""),
                function.get("arguments") or "{}",
                names,
                f"fc_{uuid.uuid4().hex[:24]}",
            )
        )
    status = "incomplete" if choice.get("finish_reason") == "length" else "completed"
    return envelope(
        body,
        model,
        status,
        output,
        usage_of(chat.get("usage")),
        f"resp_{uuid.uuid4().hex[:24]}",
        int(time.time()),
    )


def error_body(status: int, message: str) -> dict[str, Any]:
    kind = "invalid_request_error" if 400 <= status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}
