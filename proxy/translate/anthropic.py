"""Anthropic Messages ⇄ OpenAI chat completions: requests, responses and streams.

Unknown fields (cache_control, thinking, metadata, context_management, output_config...) are
dropped, never an error. Tool use, tool results (also structured) and images survive.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from proxy.sse import encode
from proxy.translate.chat import reasoning_of
from proxy.translate.shapes import ChatChunk, ChatCompletion, ToolCall

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict):
                if block.get("type") == "text":
                    parts.append(str(block.get("text", "")))
                elif block.get("type") == "tool_reference":
                    parts.append(f"[tool loaded: {block.get('tool_name', '')}]")
        return "\n".join(parts)
    return "" if content is None else str(content)


def _image_part(block: dict[str, Any]) -> dict[str, Any] | None:
    source = block.get("source") or {}
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type', 'image/png')};base64,{source.get('data', '')}"
    elif source.get("type") == "url":
        url = str(source.get("url", ""))
    else:
        return None
    return {"type": "image_url", "image_url": {"url": url}}


def _user_messages(content: Any) -> list[dict[str, Any]]:
    """One Anthropic user turn → chat messages: tool results first (role tool), then the rest."""
    if not isinstance(content, list):
        return [{"role": "user", "content": _text_of(content)}]
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in content:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "tool_result":
            inner = block.get("content")
            text = _text_of(inner)
            if block.get("is_error"):
                text = f"[tool error] {text}"
            out.append(
                {"role": "tool", "tool_call_id": block.get("tool_use_id", ""), "content": text}
            )
            images = [
                p
                for b in (inner if isinstance(inner, list) else [])
                if isinstance(b, dict) and b.get("type") == "image" and (p := _image_part(b))
            ]
            if images:
                parts.extend(images)
        elif kind == "text":
            parts.append({"type": "text", "text": block.get("text", "")})
        elif kind == "image":
            image = _image_part(block)
            if image:
                parts.append(image)
        elif kind == "document":
            source = block.get("source") or {}
            if source.get("type") == "text":
                parts.append({"type": "text", "text": source.get("data", "")})
    if parts:
        if all(p["type"] == "text" for p in parts):
            out.append({"role": "user", "content": "\n".join(p["text"] for p in parts)})
        else:
            out.append({"role": "user", "content": parts})
    return out


def blocks_to_chat(content: list[Any]) -> tuple[list[str], list[ToolCall]]:
    """An assistant's Anthropic content blocks as chat: its texts and its tool calls."""
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in content:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            texts.append(str(block.get("text", "")))
        elif block.get("type") in ("tool_use", "server_tool_use"):
            calls.append(
                {
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {
                        "name": block.get("name", ""),
                        "arguments": orjson.dumps(block.get("input") or {}).decode(),
                    },
                }
            )
    return texts, calls


def _assistant_message(content: Any) -> dict[str, Any]:
    if not isinstance(content, list):
        return {"role": "assistant", "content": _text_of(content)}
    texts, calls = blocks_to_chat(content)
    message: dict[str, Any] = {"role": "assistant", "content": "\n".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls
    return message


def _tool_choice(choice: Any) -> tuple[Any, bool | None]:
    if not isinstance(choice, dict):
        return None, None
    parallel = False if choice.get("disable_parallel_tool_use") else None
    kind = choice.get("type")
    if kind == "any":
        return "required", parallel
    if kind == "tool":
        return {"type": "function", "function": {"name": choice.get("name", "")}}, parallel
    if kind == "none":
        return "none", parallel
    return "auto", parallel


def request_to_chat(body: dict[str, Any]) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    system = _text_of(body.get("system"))
    if system:
        messages.append({"role": "system", "content": system})
    for message in body.get("messages") or []:
        role = message.get("role")
        if role == "assistant":
            messages.append(_assistant_message(message.get("content")))
        elif role == "system":
            messages.append({"role": "system", "content": _text_of(message.get("content"))})
        else:
            messages.extend(_user_messages(message.get("content")))
    chat: dict[str, Any] = {"model": body.get("model"), "messages": messages}
    if body.get("max_tokens") is not None:
        chat["max_tokens"] = body["max_tokens"]
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            chat[key] = body[key]
    if body.get("stop_sequences"):
        chat["stop"] = body["stop_sequences"]
    tools = [
        {
            "type": "function",
            "function": {
                "name": tool.get("name", ""),
                "description": tool.get("description", ""),
                "parameters": tool.get("input_schema") or {"type": "object", "properties": {}},
            },
        }
        for tool in body.get("tools") or []
        if isinstance(tool, dict) and "input_schema" in tool  # server tools have no schema
    ]
    if tools:
        chat["tools"] = tools
        choice, parallel = _tool_choice(body.get("tool_choice"))
        if choice is not None:
            chat["tool_choice"] = choice
        if parallel is not None:
            chat["parallel_tool_calls"] = parallel
    if body.get("stream"):
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def _usage(usage: Mapping[str, Any] | None) -> dict[str, int]:
    """Chat usage as Anthropic's: cache reads (and writes, when a translation carried them)
    apart from input_tokens."""
    usage = usage or {}
    details = usage.get("prompt_tokens_details") or {}
    read = int(details.get("cached_tokens") or 0)
    written = int(details.get("cache_creation_tokens") or 0)
    return {
        "input_tokens": max(0, int(usage.get("prompt_tokens") or 0) - read - written),
        "output_tokens": int(usage.get("completion_tokens") or 0),
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": written,
    }


def _tool_input(arguments: str | None) -> Any:
    try:
        value = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        return {"_unparsed_arguments": arguments}
    return value if isinstance(value, dict) else {"value": value}


def response_from_chat(chat: ChatCompletion, model: str) -> dict[str, Any]:
    choice = (chat.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    if thought := reasoning_of(message):
        # No signature: it was not made by Anthropic, and is never sent back to it.
        content.append({"type": "thinking", "thinking": thought, "signature": ""})
    if message.get("content"):
        content.append({"type": "text", "text": _text_of(message["content"])})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_{uuid.uuid4().hex[:24]}",
                "name": function.get("name", ""),
                "input": _tool_input(function.get("arguments")),
            }
        )
    reason = choice.get("finish_reason") or "stop"
    if message.get("tool_calls"):
        reason = "tool_calls"
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": STOP_REASONS.get(reason, "end_turn"),
        "stop_sequence": None,
        "usage": _usage(chat.get("usage")),
    }


class StreamFromChat:
    """Chat completion chunks in, Anthropic stream events (as SSE bytes) out."""

    def __init__(self, model: str) -> None:
        self.model = model
        self._started = False
        self._block: str | None = None  # "text" or "tool:<chat index>"
        self._index = -1
        self._stop = "end_turn"
        self._usage: dict[str, int] = {"input_tokens": 0, "output_tokens": 0}

    def _start(self) -> bytes:
        self._started = True
        message: dict[str, Any] = {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return encode({"type": "message_start", "message": message}, "message_start")

    def _close_block(self) -> bytes:
        if self._block is None:
            return b""
        self._block = None
        return encode({"type": "content_block_stop", "index": self._index}, "content_block_stop")

    def _open(self, key: str, block: dict[str, Any]) -> bytes:
        out = self._close_block()
        self._index += 1
        self._block = key
        start = {"type": "content_block_start", "index": self._index, "content_block": block}
        return out + encode(start, "content_block_start")

    def feed(self, chunk: ChatChunk) -> bytes:
        out = b"" if self._started else self._start()
        if chunk.get("usage"):
            self._usage = _usage(chunk["usage"])
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if thought := reasoning_of(delta):
                if self._block != "thinking":
                    out += self._open(
                        "thinking", {"type": "thinking", "thinking": "", "signature": ""}
                    )
                payload = {
                    "type": "content_block_delta",
                    "index": self._index,
                    "delta": {"type": "thinking_delta", "thinking": thought},
                }
                out += encode(payload, "content_block_delta")
            text = delta.get("content")
            if text:
                if self._block != "text":
                    out += self._open("text", {"type": "text", "text": ""})
                payload = {
                    "type": "content_block_delta",
                    "index": self._index,
                    "delta": {"type": "text_delta", "text": text},
                }
                out += encode(payload, "content_block_delta")
            for call in delta.get("tool_calls") or []:
                key = f"tool:{call.get('index', 0)}"
                function = call.get("function") or {}
                if self._block != key:
                    out += self._open(
                        key,
                        {
                            "type": "tool_use",
                            "id": call.get("id") or f"toolu_{uuid.uuid4().hex[:24]}",
                            "name": function.get("name", ""),
                            "input": {},
                        },
                    )
                if function.get("arguments"):
                    payload = {
                        "type": "content_block_delta",
                        "index": self._index,
                        "delta": {
                            "type": "input_json_delta",
                            "partial_json": function["arguments"],
                        },
                    }
                    out += encode(payload, "content_block_delta")
            if finish := choice.get("finish_reason"):
                self._stop = STOP_REASONS.get(finish, "end_turn")
        return out

    def finish(self) -> bytes:
        out = b"" if self._started else self._start()
        out += self._close_block()
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": self._stop, "stop_sequence": None},
            "usage": self._usage,
        }
        out += encode(delta, "message_delta")
        return out + encode({"type": "message_stop"}, "message_stop")

    def error(self, message: str) -> bytes:
        payload = {"type": "error", "error": {"type": "api_error", "message": message}}
        return encode(payload, "error")


def error_body(status: int, message: str) -> dict[str, Any]:
    kind = {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        529: "overloaded_error",
    }.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


def count_tokens(body: dict[str, Any]) -> int:
    """An estimate (about 4 characters a token): good enough for a harness's budget checks."""
    size = len(orjson.dumps({k: body.get(k) for k in ("system", "messages", "tools")}))
    return max(1, size // 4)
