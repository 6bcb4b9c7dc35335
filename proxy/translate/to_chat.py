"""The upstream side, answers: what an Anthropic or Responses upstream answers, turned back into
chat completions (whole, or chunk by chunk). Requests going there: upstream_requests.py."""

from __future__ import annotations

import time
import uuid
from typing import Any, cast

from proxy.translate.anthropic import blocks_to_chat
from proxy.translate.shapes import (
    AssistantMessage,
    ChatChunk,
    ChatCompletion,
    ChatUsage,
    ToolCall,
)

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


def _completion(
    model: str, content: str | None, calls: list[ToolCall], finish: str, usage: ChatUsage
) -> ChatCompletion:
    message: AssistantMessage = {"role": "assistant", "content": content}
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


def anthropic_usage_to_chat(usage: dict[str, Any], completion: int) -> ChatUsage:
    """Anthropic counts cache reads and writes apart from input_tokens; chat's prompt_tokens
    holds all three, with the reads as cached_tokens (and the writes, which chat has no field
    for, as cache_creation_tokens so that a translation back keeps them)."""
    read = int(usage.get("cache_read_input_tokens") or 0)
    written = int(usage.get("cache_creation_input_tokens") or 0)
    prompt = int(usage.get("input_tokens") or 0) + read + written
    out: ChatUsage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if read or written:
        out["prompt_tokens_details"] = {"cached_tokens": read, "cache_creation_tokens": written}
    return out


def anthropic_response_to_chat(data: dict[str, Any]) -> ChatCompletion:
    """A whole Anthropic message as a chat completion."""
    texts, calls = blocks_to_chat(data.get("content") or [])
    usage = data.get("usage") or {}
    completion = int(usage.get("output_tokens") or 0)
    return _completion(
        str(data.get("model", "")),
        "".join(texts) if texts else None,
        calls,
        _FINISH_FROM_ANTHROPIC.get(str(data.get("stop_reason")), "stop"),
        anthropic_usage_to_chat(usage, completion),
    )


def responses_response_to_chat(data: dict[str, Any]) -> ChatCompletion:
    """A whole Responses API answer as a chat completion."""
    texts: list[str] = []
    calls: list[ToolCall] = []
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
    finish = "tool_calls" if calls else ("length" if data.get("status") == "incomplete" else "stop")
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


class ChatDecoder:
    def __init__(self, model: str) -> None:
        self.model = model
        self.id = f"chatcmpl-{uuid.uuid4().hex[:24]}"

    def chunk(
        self, delta: AssistantMessage, finish: str | None = None, usage: ChatUsage | None = None
    ) -> ChatChunk:
        out: ChatChunk = {
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

    def feed(self, event: str | None, data: Any) -> list[ChatChunk]:
        # a chat upstream's own chunk, passed on as it is
        return [cast(ChatChunk, data)] if isinstance(data, dict) else []


class AnthropicDecoder(ChatDecoder):
    def __init__(self, model: str) -> None:
        super().__init__(model)
        self.tool_index = -1
        self.start_usage: dict[str, Any] = {}

    def feed(self, event: str | None, data: Any) -> list[ChatChunk]:
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "message_start":
            self.start_usage = (data.get("message") or {}).get("usage") or {}
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
            usage = anthropic_usage_to_chat(self.start_usage, output)
            return [self.chunk({}, reason), self.chunk({}, None, usage)]
        if kind == "error":
            raise UpstreamStreamError(
                str((data.get("error") or {}).get("message", "upstream error"))
            )
        return []


class ResponsesDecoder(ChatDecoder):
    def __init__(self, model: str) -> None:
        super().__init__(model)
        self.tool_index = -1
        self.calls = False

    def feed(self, event: str | None, data: Any) -> list[ChatChunk]:
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
