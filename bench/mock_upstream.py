"""A deliberately fast mock OpenAI upstream for benchmarks: raw asyncio, HTTP/1.1 keep-alive.

POST with "stream": true in the body → a short SSE stream; otherwise a fixed chat completion.
    python bench/mock_upstream.py PORT [HOLD_S]
With HOLD_S, a stream's first event is sent at once and the rest HOLD_S seconds later (to hold
many streams open at the same time).
"""

from __future__ import annotations

import asyncio
import sys

_COMPLETION = (
    b'{"id":"chatcmpl-bench","object":"chat.completion","created":0,"model":"bench",'
    b'"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],'
    b'"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}'
)
_PLAIN = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(_COMPLETION)).encode()
    + b"\r\n\r\n"
    + _COMPLETION
)
_EVENTS = [
    b'data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"bench","choices":[{"index":0,"delta":{"role":"assistant","content":"o"},"finish_reason":null}]}\n\n',
    b'data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"bench","choices":[{"index":0,"delta":{"content":"k"},"finish_reason":"stop"}]}\n\n',
    b"data: [DONE]\n\n",
]


def _chunked(events: list[bytes]) -> bytes:
    body = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in events) + b"0\r\n\r\n"
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        + body
    )


_STREAM = _chunked(_EVENTS)


_HOLD_S = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
_STREAM_PARTS = (
    _HEAD + b"%x\r\n%s\r\n" % (len(_EVENTS[0]), _EVENTS[0]),
    b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in _EVENTS[1:]) + b"0\r\n\r\n",
)


class _Protocol(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def _write_rest(self, rest: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(rest)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end == -1:
                return
            head = self.buffer[:end].lower()
            length = 0
            for line in head.split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            if head.startswith(b"get"):
                payload = b'{"object":"list","data":[{"id":"bench","object":"model"}]}'
                self.transport.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                    + str(len(payload)).encode()
                    + b"\r\n\r\n"
                    + payload
                )
            elif b'"stream":true' in body.replace(b" ", b""):
                if _HOLD_S:
                    first, rest = _STREAM_PARTS
                    self.transport.write(first)
                    asyncio.get_running_loop().call_later(_HOLD_S, self._write_rest, rest)
                else:
                    self.transport.write(_STREAM)
            else:
                self.transport.write(_PLAIN)


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Protocol, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(int(sys.argv[1])))
