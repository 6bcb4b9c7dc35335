"""What the fake LLM answers, in each wire format: whole answers and lists of stream events."""

from __future__ import annotations

import itertools
import json
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fake_llm import Reply

Events = list[tuple[str | None, dict[str, Any] | str]]
# Tool call ids unique across replies, as a real model's are: Claude Code keeps its transcript by
# them, and two turns calling tools under one id make it lose a result.
_SERIAL = itertools.count(1)


def chat_completion(reply: Reply, model: str) -> dict[str, Any]:
    serial = next(_SERIAL)
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.reasoning:
        message["reasoning_content"] = reply.reasoning
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{serial}_{i}",
                "type": "function",
                "function": {"name": n, "arguments": json.dumps(a)},
            }
            for i, (n, a) in enumerate(reply.tool_calls)
        ]
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 11,
            "completion_tokens": 7,
            "total_tokens": 18,
            **(reply.usage or {}),
        },
    }


def chat_events(reply: Reply, model: str) -> Events:
    serial = next(_SERIAL)

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    events: Events = [(None, chunk({"role": "assistant", "content": ""}))]
    for word in (reply.reasoning or "").split(" ") if reply.reasoning else []:
        events.append((None, chunk({"reasoning_content": word + " "})))
    for word in (reply.content or "").split(" ") if reply.content else []:
        events.append((None, chunk({"content": word + " "})))
    for i, (name, args) in enumerate(reply.tool_calls):
        text = json.dumps(args)
        events.append(
            (
                None,
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": i,
                                "id": f"call_{serial}_{i}",
                                "type": "function",
                                "function": {"name": name, "arguments": ""},
                            }
                        ]
                    }
                ),
            )
        )
        half = len(text) // 2
        for piece in (text[:half], text[half:]):
            events.append(
                (None, chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}))
            )
    events.append((None, chunk({}, "tool_calls" if reply.tool_calls else "stop")))
    events.append(
        (
            None,
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [],
                "usage": {
                    "prompt_tokens": 11,
                    "completion_tokens": 7,
                    "total_tokens": 18,
                    **(reply.usage or {}),
                },
            },
        )
    )
    events.append((None, "[DONE]"))
    return events


def anthropic_message(reply: Reply, model: str) -> dict[str, Any]:
    serial = next(_SERIAL)
    content: list[dict[str, Any]] = []
    if reply.content:
        content.append({"type": "text", "text": reply.content})
    for i, (name, args) in enumerate(reply.tool_calls):
        content.append(
            {"type": "tool_use", "id": f"toolu_{serial}_{i}", "name": name, "input": args}
        )
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "tool_use" if reply.tool_calls else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 11, "output_tokens": 7, **(reply.usage or {})},
    }


def anthropic_events(reply: Reply, model: str) -> Events:
    serial = next(_SERIAL)
    message = {
        **anthropic_message(reply, model),
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 11, "output_tokens": 1, **(reply.usage or {})},
    }
    events: Events = [("message_start", {"type": "message_start", "message": message})]
    index = 0
    if reply.content:
        events.append(
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            )
        )
        for word in reply.content.split(" "):
            events.append(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": word + " "},
                    },
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
        index = 1
    for i, (name, args) in enumerate(reply.tool_calls):
        events.append(
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {
                        "type": "tool_use",
                        "id": f"toolu_{serial}_{i}",
                        "name": name,
                        "input": {},
                    },
                },
            )
        )
        events.append(
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": json.dumps(args)},
                },
            )
        )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": "tool_use" if reply.tool_calls else "end_turn",
                    "stop_sequence": None,
                },
                "usage": {"output_tokens": 7},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def responses_output(reply: Reply) -> list[dict[str, Any]]:
    serial = next(_SERIAL)
    output: list[dict[str, Any]] = []
    if reply.content:
        output.append(
            {
                "type": "message",
                "id": "msg_fake",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": reply.content, "annotations": []}],
            }
        )
    for i, (name, args) in enumerate(reply.tool_calls):
        output.append(
            {
                "type": "function_call",
                "id": f"fc_{serial}_{i}",
                "call_id": f"call_{serial}_{i}",
                "name": name,
                "arguments": json.dumps(args),
                "status": "completed",
            }
        )
    return output


def responses_body(reply: Reply, model: str) -> dict[str, Any]:
    return {
        "id": "resp_fake",
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed",
        "model": model,
        "output": responses_output(reply),
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": 11,
            "output_tokens": 7,
            "total_tokens": 18,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        },
    }


def responses_events(reply: Reply, model: str) -> Events:
    body = responses_body(reply, model)
    events: Events = [
        (
            "response.created",
            {
                "type": "response.created",
                "response": {**body, "status": "in_progress", "output": []},
            },
        )
    ]
    for index, item in enumerate(body["output"]):
        if item["type"] == "message":
            events.append(
                (
                    "response.output_item.added",
                    {
                        "type": "response.output_item.added",
                        "output_index": index,
                        "item": {**item, "status": "in_progress", "content": []},
                    },
                )
            )
            for word in (reply.content or "").split(" "):
                events.append(
                    (
                        "response.output_text.delta",
                        {
                            "type": "response.output_text.delta",
                            "item_id": item["id"],
                            "output_index": index,
                            "content_index": 0,
                            "delta": word + " ",
                        },
                    )
                )
        else:
            events.append(
                (
                    "response.output_item.added",
                    {
                        "type": "response.output_item.added",
                        "output_index": index,
                        "item": {**item, "arguments": "", "status": "in_progress"},
                    },
                )
            )
            events.append(
                (
                    "response.function_call_arguments.delta",
                    {
                        "type": "response.function_call_arguments.delta",
                        "item_id": item["id"],
                        "output_index": index,
                        "delta": item["arguments"],
                    },
                )
            )
        events.append(
            (
                "response.output_item.done",
                {"type": "response.output_item.done", "output_index": index, "item": item},
            )
        )
    events.append(("response.completed", {"type": "response.completed", "response": body}))
    return [
        (name, {**data, "sequence_number": i} if isinstance(data, dict) else data)
        for i, (name, data) in enumerate(events)
    ]
