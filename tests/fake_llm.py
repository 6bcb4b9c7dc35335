"""A small fake LLM: a real HTTP server on 127.0.0.1 that speaks OpenAI chat completions,
Anthropic messages and the OpenAI Responses API, streaming or not.

Tests script what it answers next (`llm.script(...)`), then read what it received
(`llm.requests`). Behaviours: text and tool calls; an HTTP error status; a raw body; hanging
before the first byte; stalling or sending garbage in the middle of a stream; holding the
stream after its first chunk until the test releases it.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fake_formats import (
    anthropic_events,
    anthropic_message,
    chat_completion,
    chat_events,
    responses_body,
    responses_events,
)


@dataclass
class Reply:
    content: str | None = None
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    status: int = 200
    raw_body: str | None = None  # sent as is, instead of a completion
    hang: bool = False  # no answer at all until released (or the client gives up)
    stall_after: int | None = None  # stream this many events, then go silent
    malformed_after: int | None = None  # stream this many events, then garbage
    truncate_after: int | None = None  # stream this many events, then close cleanly
    gate: threading.Event | None = (
        None  # wait for this: after the first event, or before a whole answer
    )
    chunk_delay_s: float = 0.0
    usage: dict[str, Any] | None = None  # merged into the usage the fake reports
    reasoning: str | None = None  # chat: reasoning_content (DeepSeek, Qwen3 on llama.cpp)


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
    # Answers from the request itself (a model that reads the conversation), instead of a script.
    responder: Callable[[dict[str, Any]], Reply] | None = None

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
            reply = llm.responder(body) if llm.responder is not None else llm.next_reply()
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
            route = self.path.split("?", 1)[0]  # Claude Code posts /v1/messages?beta=true
            kind = (
                "anthropic"
                if route.endswith("/messages")
                else ("responses" if route.endswith("/responses") else "chat")
            )
            if body.get("stream"):
                events = {
                    "chat": chat_events,
                    "anthropic": anthropic_events,
                    "responses": responses_events,
                }[kind](reply, model)
                self._stream(reply, events)
            else:
                if reply.gate is not None:
                    reply.gate.wait(30)
                whole = {
                    "chat": chat_completion,
                    "anthropic": anthropic_message,
                    "responses": responses_body,
                }[kind](reply, model)
                self._json(200, whole)

        def _wait(self, seconds: float) -> None:
            """Hold the answer back until released, or until the client hangs up (counted)."""
            deadline = time.monotonic() + seconds
            while not llm.release.is_set() and time.monotonic() < deadline:
                readable, _, _ = select.select([self.connection], [], [], 0.02)
                if readable:
                    try:
                        data = self.connection.recv(1, socket.MSG_PEEK)
                    except OSError:
                        data = b""
                    if not data:
                        with llm._lock:
                            llm.disconnects += 1
                        return

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
                    if reply.truncate_after is not None and i == reply.truncate_after:
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
