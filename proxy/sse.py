"""Server-sent events: an incremental parser for upstream bytes and an encoder for ours."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson


@dataclass
class Event:
    data: str
    event: str | None = None

    def json(self) -> Any:
        return orjson.loads(self.data)


class SSEParser:
    """Feed it raw chunks as they arrive; it returns the complete events found so far."""

    def __init__(self) -> None:
        self._buffer = b""
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[Event]:
        self._buffer += chunk
        events: list[Event] = []
        while True:
            newline = self._buffer.find(b"\n")
            if newline == -1:
                break
            line = self._buffer[:newline].rstrip(b"\r").decode("utf-8", errors="replace")
            self._buffer = self._buffer[newline + 1 :]
            if not line:
                if self._data:
                    events.append(Event("\n".join(self._data), self._event))
                self._event, self._data = None, []
            elif line.startswith(":"):
                continue
            else:
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "data":
                    self._data.append(value)
                elif field == "event":
                    self._event = value
        return events

    def flush(self) -> list[Event]:
        """Whatever complete event is left when the stream ends without a blank line."""
        if self._buffer.strip():
            self.feed(b"\n")
        events = [Event("\n".join(self._data), self._event)] if self._data else []
        self._event, self._data = None, []
        return events


def encode(data: Any, event: str | None = None) -> bytes:
    payload = data if isinstance(data, bytes) else orjson.dumps(data)
    if event:
        return b"event: " + event.encode() + b"\ndata: " + payload + b"\n\n"
    return b"data: " + payload + b"\n\n"


KEEPALIVE = b": keep-alive\n\n"
DONE = b"data: [DONE]\n\n"
