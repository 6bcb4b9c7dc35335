"""The upstream side: a chat request sent to an Anthropic or Responses upstream, and what such
an upstream answers turned back into chat completions (whole, or chunk by chunk)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson

from proxy.settings import Protocol

_FINISH_FROM_ANTHROPIC = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "stop",
}


class UpstreamStreamError(RuntimeError):
    """The upstream reported an error inside its stream."""


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(p.get("text", "")) for p in content if isinstance(p, dict) and "text" in p
        )
    return ""


def _anthropic_image(part: dict[str, Any]) -> dict[str, Any]:
    url = str((part.get("image_url") or {}).get("url", ""))
    if url.startswith("data:") and ";base64," in url:
        media, data = url[5:].split(";base64,", 1)
        return {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _anthropic_content(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content or []:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text":
            blocks.append({"type": "text", "text": part.get("text", "")})
        elif part.get("type") == "image_url":
            blocks.append(_anthropic_image(part))
    return blocks


def chat_to_anthropic_request(chat: dict[str, Any]) -> dict[str, Any]:
    system: list[str] = []
    messages: list[dict[str, Any]] = []

    def append(role: str, blocks: list[dict[str, Any]]) -> None:
        if messages and messages[-1]["role"] == role:  # Anthropic wants roles to alternate
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})

    for message in chat.get("messages") or []:
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(_text(message.get("content")))
        elif role == "tool":
            append(
                "user",
                [
                    {
                        "type": "tool_result",
                        "tool_use_id": message.get("tool_call_id", ""),
                        "content": _text(message.get("content")),
                    }
                ],
            )
        elif role == "assistant":
            blocks = _anthropic_content(message.get("content"))
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                try:
                    arguments = orjson.loads(function.get("arguments") or "{}")
                except orjson.JSONDecodeError:
                    arguments = {"_unparsed_arguments": function.get("arguments")}
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": call.get("id", ""),
                        "name": function.get("name", ""),
                        "input": arguments,
                    }
                )
            append("assistant", blocks or [{"type": "text", "text": ""}])
        else:
            append("user", _anthropic_content(message.get("content")))
    body: dict[str, Any] = {
        "model": chat.get("model"),
        "messages": messages,
        "max_tokens": chat.get("max_tokens") or chat.get("max_completion_tokens") or 4096,
    }
    if system:
        body["system"] = "\n\n".join(system)
    for key in ("temperature", "top_p"):
        if chat.get(key) is not None:
            body[key] = chat[key]
    if chat.get("stop"):
        body["stop_sequences"] = chat["stop"] if isinstance(chat["stop"], list) else [chat["stop"]]
    tools = [
        {
            "name": t["function"].get("name", ""),
            "description": t["function"].get("description", ""),
            "input_schema": t["function"].get("parameters") or {"type": "object", "properties": {}},
        }
        for t in chat.get("tools") or []
        if isinstance(t, dict) and t.get("type") == "function"
    ]
    if tools:
        body["tools"] = tools
        choice = chat.get("tool_choice")
        if choice == "required":
            body["tool_choice"] = {"type": "any"}
        elif choice == "none":
            body["tool_choice"] = {"type": "none"}
        elif isinstance(choice, dict):
            body["tool_choice"] = {
                "type": "tool",
                "name": (choice.get("function") or {}).get("name", ""),
            }
    if chat.get("stream"):
        body["stream"] = True
    return body


def chat_to_responses_request(chat: dict[str, Any]) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    instructions: list[str] = []
    for message in chat.get("messages") or []:
        role = message.get("role")
        if role in ("system", "developer"):
            instructions.append(_text(message.get("content")))
        elif role == "tool":
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": message.get("tool_call_id", ""),
                    "output": _text(message.get("content")),
                }
            )
        else:
            content = message.get("content")
            kind = "output_text" if role == "assistant" else "input_text"
            parts: list[dict[str, Any]] = []
            if isinstance(content, str) and content:
                parts.append({"type": kind, "text": content})
            elif isinstance(content, list):
                for part in content:
                    if part.get("type") == "text":
                        parts.append({"type": kind, "text": part.get("text", "")})
                    elif part.get("type") == "image_url":
                        parts.append(
                            {
                                "type": "input_image",
                                "image_url": (part.get("image_url") or {}).get("url"),
                            }
                        )
            if parts:
                items.append({"type": "message", "role": role, "content": parts})
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                items.append(
                    {
                        "type": "function_call",
                        "call_id": call.get("id", ""),
                        "name": function.get("name", ""),
                        "arguments": function.get("arguments") or "{}",
                    }
                )
    body: dict[str, Any] = {"model": chat.get("model"), "input": items, "store": False}
    if instructions:
        body["instructions"] = "\n\n".join(instructions)
    tools = [
        {
            "type": "function",
            "name": t["function"].get("name", ""),
            "description": t["function"].get("description", ""),
            "parameters": t["function"].get("parameters") or {"type": "object", "properties": {}},
        }
        for t in chat.get("tools") or []
        if isinstance(t, dict) and t.get("type") == "function"
    ]
    if tools:
        body["tools"] = tools
        choice = chat.get("tool_choice")
        if isinstance(choice, str):
            body["tool_choice"] = choice
        elif isinstance(choice, dict):
            body["tool_choice"] = {
                "type": "function",
                "name": (choice.get("function") or {}).get("name", ""),
            }
    if chat.get("max_tokens") is not None:
        body["max_output_tokens"] = chat["max_tokens"]
    for key in ("temperature", "top_p", "parallel_tool_calls"):
        if chat.get(key) is not None:
            body[key] = chat[key]
    if chat.get("stream"):
        body["stream"] = True
    return body


def request_for(upstream: Protocol, chat: dict[str, Any]) -> dict[str, Any]:
    if upstream == "anthropic":
        return chat_to_anthropic_request(chat)
    if upstream == "responses":
        return chat_to_responses_request(chat)
    return chat


def _completion(
    model: str, content: str | None, calls: list[dict[str, Any]], finish: str, usage: dict[str, int]
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": usage,
    }


def response_to_chat(upstream: Protocol, data: dict[str, Any]) -> dict[str, Any]:
    if upstream == "anthropic":
        texts, calls = [], []
        for block in data.get("content") or []:
            if block.get("type") == "text":
                texts.append(block.get("text", ""))
            elif block.get("type") == "tool_use":
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
        usage = data.get("usage") or {}
        prompt = int(usage.get("input_tokens") or 0) + int(
            usage.get("cache_read_input_tokens") or 0
        )
        completion = int(usage.get("output_tokens") or 0)
        return _completion(
            str(data.get("model", "")),
            "".join(texts) if texts else None,
            calls,
            _FINISH_FROM_ANTHROPIC.get(str(data.get("stop_reason")), "stop"),
            {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        )
    if upstream == "responses":
        texts, calls = [], []
        for item in data.get("output") or []:
            if item.get("type") == "message":
                texts.extend(
                    str(p.get("text", ""))
                    for p in item.get("content") or []
                    if p.get("type") == "output_text"
                )
            elif item.get("type") == "function_call":
                calls.append(
                    {
                        "id": item.get("call_id", ""),
                        "type": "function",
                        "function": {
                            "name": item.get("name", ""),
                            "arguments": item.get("arguments") or "{}",
                        },
                    }
                )
        usage = data.get("usage") or {}
        prompt, completion = (
            int(usage.get("input_tokens") or 0),
            int(usage.get("output_tokens") or 0),
        )
        finish = (
            "tool_calls" if calls else ("length" if data.get("status") == "incomplete" else "stop")
        )
        return _completion(
            str(data.get("model", "")),
            "".join(texts) if texts else None,
            calls,
            finish,
            {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        )
    return data


class _ChatDecoder:
    def __init__(self, model: str) -> None:
        self.model = model
        self.id = f"chatcmpl-{uuid.uuid4().hex[:24]}"

    def chunk(
        self, delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
            if delta or finish
            else [],
        }
        if usage is not None:
            out["usage"] = usage
        return out

    def feed(self, event: str | None, data: Any) -> list[dict[str, Any]]:
        return [data] if isinstance(data, dict) else []


class _AnthropicDecoder(_ChatDecoder):
    def __init__(self, model: str) -> None:
        super().__init__(model)
        self.tool_index = -1
        self.input_tokens = 0

    def feed(self, event: str | None, data: Any) -> list[dict[str, Any]]:
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "message_start":
            usage = (data.get("message") or {}).get("usage") or {}
            self.input_tokens = int(usage.get("input_tokens") or 0) + int(
                usage.get("cache_read_input_tokens") or 0
            )
            return [self.chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            block = data.get("content_block") or {}
            if block.get("type") == "tool_use":
                self.tool_index += 1
                return [
                    self.chunk(
                        {
                            "tool_calls": [
                                {
                                    "index": self.tool_index,
                                    "id": block.get("id", ""),
                                    "type": "function",
                                    "function": {"name": block.get("name", ""), "arguments": ""},
                                }
                            ]
                        }
                    )
                ]
            return []
        if kind == "content_block_delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta":
                return [self.chunk({"content": delta.get("text", "")})]
            if delta.get("type") == "input_json_delta":
                return [
                    self.chunk(
                        {
                            "tool_calls": [
                                {
                                    "index": self.tool_index,
                                    "function": {"arguments": delta.get("partial_json", "")},
                                }
                            ]
                        }
                    )
                ]
            return []
        if kind == "message_delta":
            reason = _FINISH_FROM_ANTHROPIC.get(
                str((data.get("delta") or {}).get("stop_reason")), "stop"
            )
            output = int((data.get("usage") or {}).get("output_tokens") or 0)
            usage = {
                "prompt_tokens": self.input_tokens,
                "completion_tokens": output,
                "total_tokens": self.input_tokens + output,
            }
            return [self.chunk({}, reason), self.chunk({}, None, usage)]
        if kind == "error":
            raise UpstreamStreamError(
                str((data.get("error") or {}).get("message", "upstream error"))
            )
        return []


class _ResponsesDecoder(_ChatDecoder):
    def __init__(self, model: str) -> None:
        super().__init__(model)
        self.tool_index = -1
        self.calls = False

    def feed(self, event: str | None, data: Any) -> list[dict[str, Any]]:
        kind = data.get("type") if isinstance(data, dict) else event
        if kind == "response.output_text.delta":
            return [self.chunk({"content": data.get("delta", "")})]
        if (
            kind == "response.output_item.added"
            and (data.get("item") or {}).get("type") == "function_call"
        ):
            item = data["item"]
            self.tool_index += 1
            self.calls = True
            return [
                self.chunk(
                    {
                        "tool_calls": [
                            {
                                "index": self.tool_index,
                                "id": item.get("call_id", ""),
                                "type": "function",
                                "function": {"name": item.get("name", ""), "arguments": ""},
                            }
                        ]
                    }
                )
            ]
        if kind == "response.function_call_arguments.delta":
            return [
                self.chunk(
                    {
                        "tool_calls": [
                            {
                                "index": self.tool_index,
                                "function": {"arguments": data.get("delta", "")},
                            }
                        ]
                    }
                )
            ]
        if kind in ("response.completed", "response.incomplete"):
            response = data.get("response") or {}
            usage = response.get("usage") or {}
            prompt, completion = (
                int(usage.get("input_tokens") or 0),
                int(usage.get("output_tokens") or 0),
            )
            finish = (
                "tool_calls"
                if self.calls
                else ("length" if kind == "response.incomplete" else "stop")
            )
            return [
                self.chunk({}, finish),
                self.chunk(
                    {},
                    None,
                    {
                        "prompt_tokens": prompt,
                        "completion_tokens": completion,
                        "total_tokens": prompt + completion,
                    },
                ),
            ]
        if kind in ("response.failed", "error"):
            error = (data.get("response") or {}).get("error") or data
            raise UpstreamStreamError(str(error.get("message", "upstream error")))
        return []


def stream_decoder(upstream: Protocol, model: str) -> _ChatDecoder:
    if upstream == "anthropic":
        return _AnthropicDecoder(model)
    if upstream == "responses":
        return _ResponsesDecoder(model)
    return _ChatDecoder(model)
