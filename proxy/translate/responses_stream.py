"""Chat completion chunks turned into the Responses API's stream events, as they arrive."""

from __future__ import annotations

import time
import uuid
from typing import Any

from proxy.sse import encode
from proxy.translate.chat import reasoning_of
from proxy.translate.responses import (
    ToolNames,
    call_item,
    custom_input,
    envelope,
    message_item,
    reasoning_item,
    usage_of,
)
from proxy.translate.shapes import ChatChunk


class StreamFromChat:
    """Chat completion chunks in, Responses API stream events (as SSE bytes) out."""

    def __init__(self, body: dict[str, Any], names: ToolNames, model: str) -> None:
        self.body, self.names, self.model = body, names, model
        self.response_id = f"resp_{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        self._seq = 0
        self._started = False
        self._output: list[dict[str, Any]] = []
        self._open: dict[str, Any] | None = None  # the item being streamed
        self._open_key: str | None = None
        self._usage: dict[str, Any] | None = None
        self._finish: str | None = None

    def _event(self, kind: str, payload: dict[str, Any]) -> bytes:
        self._seq += 1
        return encode({"type": kind, "sequence_number": self._seq, **payload}, kind)

    def _start(self) -> bytes:
        self._started = True
        response = envelope(
            self.body, self.model, "in_progress", [], None, self.response_id, self.created
        )
        return self._event("response.created", {"response": response}) + self._event(
            "response.in_progress", {"response": response}
        )

    def _close(self) -> bytes:
        item, self._open, self._open_key = self._open, None, None
        if item is None:
            return b""
        index = len(self._output)
        out = b""
        if item["type"] == "reasoning":
            text = item["_text"]
            where = {"item_id": item["id"], "output_index": index, "summary_index": 0}
            out += self._event("response.reasoning_summary_text.done", {**where, "text": text})
            part = {"type": "summary_text", "text": text}
            out += self._event("response.reasoning_summary_part.done", {**where, "part": part})
            done = reasoning_item(text, item["id"])
        elif item["type"] == "message":
            text = item["_text"]
            out += self._event(
                "response.output_text.done",
                {
                    "item_id": item["id"],
                    "output_index": index,
                    "content_index": 0,
                    "text": text,
                    "logprobs": [],
                },
            )
            part = {"type": "output_text", "text": text, "annotations": []}
            out += self._event(
                "response.content_part.done",
                {"item_id": item["id"], "output_index": index, "content_index": 0, "part": part},
            )
            done = message_item(text, item["id"])
        elif item["_flat"] in self.names.custom:
            # A custom tool's input is free text: known whole only when the JSON is complete.
            text = custom_input(item["_args"])
            where = {"item_id": item["id"], "output_index": index}
            out += self._event("response.custom_tool_call_input.delta", {**where, "delta": text})
            out += self._event("response.custom_tool_call_input.done", {**where, "input": text})
            done = call_item(item["call_id"], item["_flat"], item["_args"], self.names, item["id"])
        else:
            out += self._event(
                "response.function_call_arguments.done",
                {"item_id": item["id"], "output_index": index, "arguments": item["_args"]},
            )
            done = call_item(item["call_id"], item["_flat"], item["_args"], self.names, item["id"])
        self._output.append(done)
        return out + self._event("response.output_item.done", {"output_index": index, "item": done})

    def feed(self, chunk: ChatChunk) -> bytes:
        out = b"" if self._started else self._start()
        if chunk.get("usage"):
            self._usage = usage_of(chunk["usage"])
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if thought := reasoning_of(delta):
                out += self._reasoning(thought)
            text = delta.get("content")
            if text:
                if self._open_key != "text":
                    out += self._close()
                    item_id = f"msg_{uuid.uuid4().hex[:24]}"
                    self._open, self._open_key = (
                        {"type": "message", "id": item_id, "_text": ""},
                        "text",
                    )
                    index = len(self._output)
                    out += self._event(
                        "response.output_item.added",
                        {"output_index": index, "item": message_item("", item_id, "in_progress")},
                    )
                    out += self._event(
                        "response.content_part.added",
                        {
                            "item_id": item_id,
                            "output_index": index,
                            "content_index": 0,
                            "part": {"type": "output_text", "text": "", "annotations": []},
                        },
                    )
                assert self._open is not None
                self._open["_text"] += text
                out += self._event(
                    "response.output_text.delta",
                    {
                        "item_id": self._open["id"],
                        "output_index": len(self._output),
                        "content_index": 0,
                        "delta": text,
                        "logprobs": [],
                    },
                )
            for call in delta.get("tool_calls") or []:
                key = f"tool:{call.get('index', 0)}"
                function = call.get("function") or {}
                if self._open_key != key:
                    out += self._close()
                    item_id = f"fc_{uuid.uuid4().hex[:24]}"
                    call_id = call.get("id") or f"call_{uuid.uuid4().hex[:24]}"
                    flat = function.get("name", "")
                    self._open = {
                        "type": "function_call",
                        "id": item_id,
                        "call_id": call_id,
                        "_flat": flat,
                        "_args": "",
                    }
                    self._open_key = key
                    out += self._event(
                        "response.output_item.added",
                        {
                            "output_index": len(self._output),
                            "item": call_item(
                                call_id, flat, "", self.names, item_id, "in_progress"
                            ),
                        },
                    )
                if function.get("arguments"):
                    assert self._open is not None
                    self._open["_args"] += function["arguments"]
                    if self._open["_flat"] in self.names.custom:
                        continue  # sent whole when the call ends
                    out += self._event(
                        "response.function_call_arguments.delta",
                        {
                            "item_id": self._open["id"],
                            "output_index": len(self._output),
                            "delta": function["arguments"],
                        },
                    )
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
        return out

    def _reasoning(self, thought: str) -> bytes:
        out = b""
        if self._open_key != "reasoning":
            out += self._close()
            item_id = f"rs_{uuid.uuid4().hex[:24]}"
            self._open, self._open_key = (
                {"type": "reasoning", "id": item_id, "_text": ""},
                "reasoning",
            )
            index = len(self._output)
            added = {"type": "reasoning", "id": item_id, "summary": []}
            out += self._event("response.output_item.added", {"output_index": index, "item": added})
            out += self._event(
                "response.reasoning_summary_part.added",
                {
                    "item_id": item_id,
                    "output_index": index,
                    "summary_index": 0,
                    "part": {"type": "summary_text", "text": ""},
                },
            )
        assert self._open is not None
        self._open["_text"] += thought
        return out + self._event(
            "response.reasoning_summary_text.delta",
            {
                "item_id": self._open["id"],
                "output_index": len(self._output),
                "summary_index": 0,
                "delta": thought,
            },
        )

    def finish(self) -> bytes:
        out = (b"" if self._started else self._start()) + self._close()
        status = "incomplete" if self._finish == "length" else "completed"
        response = envelope(
            self.body, self.model, status, self._output, self._usage, self.response_id, self.created
        )
        kind = "response.incomplete" if status == "incomplete" else "response.completed"
        return out + self._event(kind, {"response": response})

    def error(self, message: str) -> bytes:
        response = envelope(
            self.body,
            self.model,
            "failed",
            self._output,
            self._usage,
            self.response_id,
            self.created,
        )
        response["error"] = {"code": "server_error", "message": message}
        return self._event("response.failed", {"response": response})
