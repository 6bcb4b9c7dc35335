"""A small fake LLM: a real HTTP server on 127.0.0.1 speaking OpenAI chat completions.

Tests script what it answers next (`llm.script(...)`), then read what it received
(`llm.requests`). Behaviours: a text answer, an HTTP error status, garbage, or hanging until
released (a reviewer that never answers).
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
    status: int = 200
    raw_body: str | None = None  # sent as is, instead of a chat completion
    hang: bool = False  # wait until released (or the client gives up)


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

    def __post_init__(self) -> None:
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._release = threading.Event()
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
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def next_reply(self) -> Reply:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    def prompts(self) -> list[str]:
        """The user prompt of every chat request received, in order."""
        return [
            "\n".join(str(m.get("content")) for m in body.get("messages", []))
            for body in self.requests
        ]


def _handler_for(llm: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: Any) -> None:  # keep test output clean
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            with llm._lock:
                llm.requests.append(body)
                llm.paths.append(self.path)
            reply = llm.next_reply()
            if reply.hang:
                deadline = time.monotonic() + 60
                while not llm._release.is_set() and time.monotonic() < deadline:
                    time.sleep(0.05)
                return
            if reply.raw_body is not None:
                payload = reply.raw_body.encode()
            else:
                payload = json.dumps(
                    {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "fake"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": reply.content},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                    }
                ).encode()
            self.send_response(reply.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler
