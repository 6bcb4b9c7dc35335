"""A small fake LLM: a real HTTP server on 127.0.0.1 that speaks OpenAI chat completions,
Anthropic messages and the OpenAI Responses API, streaming or not.

Tests script what it answers next (`llm.script(...)`), then read what it received
(`llm.requests`). Behaviours: text and tool calls; an HTTP error status; a raw body; hanging
before the first byte; stalling or sending garbage in the middle of a stream; holding the
stream after its first chunk until the test releases it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    content: str | None = None
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    status: int = 200
    raw_body: str | None = None  # sent as is, instead of a completion
    hang: bool = False  # no answer at all until released (or the client gives up)
    stall_after: int | None = None  # stream this many events, then go silent
    malformed_after: int | None = None  # stream this many events, then garbage
    gate: threading.Event | None = None  # after the first event, wait for this
    chunk_delay_s: float = 0.0


def approve(feedback: str = "Looks correct and complete.") -> Reply:
    return Reply(json.dumps({"status": "approved", "feedback": feedback, "findings": []}))


def revise(feedback: str, findings: list[dict[str, Any]] | None = None) -> Reply:
    return Reply(
        json.dumps({"status": "needs_revision", "feedback": feedback, "findings": findings or []})
    )


@dataclass
class FakeLLM:
    default: Reply = field(default_factory=approve)
    requests: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.release = threading.Event()
        self.disconnects = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> FakeLLM:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def next_reply(self) -> Reply:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    def prompts(self) -> list[str]:
        """The text of every chat request's messages, in order."""
        return [
            "\n".join(str(m.get("content")) for m in body.get("messages", []))
            for body in self.requests
        ]


# ---------------------------------------------------------------- wire formats
def _chat_completion(reply: Reply, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{i}",
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
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


def _chat_events(reply: Reply, model: str) -> list[tuple[str | None, dict[str, Any] | str]]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    events: list[tuple[str | None, dict[str, Any] | str]] = [
        (None, chunk({"role": "assistant", "content": ""}))
    ]
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
                                "id": f"call_{i}",
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
                "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
            },
        )
    )
    events.append((None, "[DONE]"))
    return events


def _anthropic_message(reply: Reply, model: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if reply.content:
        content.append({"type": "text", "text": reply.content})
    for i, (name, args) in enumerate(reply.tool_calls):
        content.append({"type": "tool_use", "id": f"toolu_{i}", "name": name, "input": args})
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "tool_use" if reply.tool_calls else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 11, "output_tokens": 7},
    }


def _anthropic_events(reply: Reply, model: str) -> list[tuple[str | None, dict[str, Any] | str]]:
    message = {
        **_anthropic_message(reply, model),
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 11, "output_tokens": 1},
    }
    events: list[tuple[str | None, dict[str, Any] | str]] = [
        ("message_start", {"type": "message_start", "message": message})
    ]
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
                        "id": f"toolu_{i}",
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


def _responses_output(reply: Reply) -> list[dict[str, Any]]:
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
                "id": f"fc_{i}",
                "call_id": f"call_{i}",
                "name": name,
                "arguments": json.dumps(args),
                "status": "completed",
            }
        )
    return output


def _responses_body(reply: Reply, model: str) -> dict[str, Any]:
    return {
        "id": "resp_fake",
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed",
        "model": model,
        "output": _responses_output(reply),
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


def _responses_events(reply: Reply, model: str) -> list[tuple[str | None, dict[str, Any] | str]]:
    body = _responses_body(reply, model)
    events: list[tuple[str | None, dict[str, Any] | str]] = [
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


def _handler_for(llm: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: Any) -> None:  # keep test output clean
            return

        def do_GET(self) -> None:
            if self.path.endswith("/models"):
                self._json(
                    200,
                    {
                        "object": "list",
                        "data": [
                            {"id": "fake-local-1", "object": "model"},
                            {"id": "fake-local-2", "object": "model"},
                        ],
                    },
                )
            else:
                self._json(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            with llm._lock:
                llm.requests.append(body)
                llm.paths.append(self.path)
                llm.headers.append({k.lower(): v for k, v in self.headers.items()})
            reply = llm.next_reply()
            if reply.hang:
                self._wait(60)
                self.close_connection = True
                return
            if reply.raw_body is not None or reply.status >= 400:
                payload = (
                    reply.raw_body or json.dumps({"error": {"message": f"scripted {reply.status}"}})
                ).encode()
                self._send(reply.status, payload, "application/json")
                return
            model = str(body.get("model", "fake"))
            kind = (
                "anthropic"
                if self.path.endswith("/messages")
                else ("responses" if self.path.endswith("/responses") else "chat")
            )
            if body.get("stream"):
                events = {
                    "chat": _chat_events,
                    "anthropic": _anthropic_events,
                    "responses": _responses_events,
                }[kind](reply, model)
                self._stream(reply, events)
            else:
                whole = {
                    "chat": _chat_completion,
                    "anthropic": _anthropic_message,
                    "responses": _responses_body,
                }[kind](reply, model)
                self._json(200, whole)

        def _wait(self, seconds: float) -> None:
            deadline = time.monotonic() + seconds
            while not llm.release.is_set() and time.monotonic() < deadline:
                time.sleep(0.02)

        def _json(self, status: int, data: Any) -> None:
            self._send(status, json.dumps(data).encode(), "application/json")

        def _send(self, status: int, payload: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _stream(
            self, reply: Reply, events: list[tuple[str | None, dict[str, Any] | str]]
        ) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                for i, (name, data) in enumerate(events):
                    if reply.stall_after is not None and i == reply.stall_after:
                        self._wait(60)
                        return
                    if reply.malformed_after is not None and i == reply.malformed_after:
                        self.wfile.write(b"data: {this is not json\n\n")
                        self.wfile.flush()
                        return
                    text = data if isinstance(data, str) else json.dumps(data)
                    frame = (f"event: {name}\n" if name else "") + f"data: {text}\n\n"
                    self.wfile.write(frame.encode())
                    self.wfile.flush()
                    if i == 0 and reply.gate is not None:
                        reply.gate.wait(30)
                    if reply.chunk_delay_s:
                        time.sleep(reply.chunk_delay_s)
            except (BrokenPipeError, ConnectionResetError):
                with llm._lock:
                    llm.disconnects += 1

    return Handler
