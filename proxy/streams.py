"""Stream adapters: upstream SSE bytes in, client SSE bytes out, whatever the two protocols.

Same protocol on both sides: bytes pass through untouched (only read for usage and checked to
be well-formed). Different protocols: upstream events → chat chunks → client events.
"""

from __future__ import annotations

from typing import Any
from typing import Protocol as TypingProtocol

import orjson

from proxy.formats import FORMATS
from proxy.settings import Protocol
from proxy.sse import SSEParser
from proxy.translate.responses import ToolNames
from proxy.translate.shapes import ChatChunk
from proxy.usage import Usage


class MalformedStream(ValueError):
    pass


_TERMINAL = frozenset(
    {"message_stop", "response.completed", "response.incomplete", "response.failed"}
)


class StreamAdapter(TypingProtocol):
    at_boundary: bool
    complete: bool  # the terminal event went out: a client leaving now is a normal end
    # The upstream said its answer is whole (its terminal event, or a chat finish_reason); a
    # stream that closes before that is truncated, however cleanly it closes.
    finished: bool

    @property
    def ended(self) -> bool:
        """The upstream sent its terminal event: stop reading."""
        ...

    usage: Usage

    def feed(self, chunk: bytes) -> bytes: ...

    def finish(self) -> bytes: ...

    def error(self, message: str) -> bytes: ...


def _terminal_type(data: dict[str, Any]) -> bool:
    """Anthropic and Responses events carry their type in the data too (the event: line is
    optional for some servers)."""
    kind = data.get("type")
    return isinstance(kind, str) and kind in _TERMINAL


def _data_json(data: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise MalformedStream(f"upstream sent a malformed stream event: {data[:120]!r}") from None


class Passthrough:
    """Forward the upstream's bytes unchanged, a whole event at a time: each event is checked
    to be well-formed (and read for usage) before it goes out, so a client never receives
    half an event or garbage, and keep-alive comments fall between events."""

    def __init__(self, protocol: Protocol) -> None:
        self.protocol = protocol
        self.parser = SSEParser()
        self.at_boundary = True
        self.usage = Usage()
        self._tail = b""
        self.complete = False
        self.finished = False

    @property
    def ended(self) -> bool:
        return self.complete

    def feed(self, chunk: bytes) -> bytes:
        data = self._tail + chunk
        cut = max(data.rfind(b"\n\n") + 2, data.rfind(b"\r\n\r\n") + 4, 0)
        complete, self._tail = data[:cut], data[cut:]
        for event in self.parser.feed(complete):
            if event.data == "[DONE]" or event.event in _TERMINAL:
                self.complete = self.finished = True
            if event.data == "[DONE]":
                continue
            parsed = _data_json(event.data)
            if isinstance(parsed, dict):
                if _terminal_type(parsed):
                    self.complete = self.finished = True
                elif FORMATS[self.protocol].answer_finished(parsed):
                    self.finished = True
                if '"usage"' in event.data:
                    self._usage(parsed)
        self.at_boundary = not self._tail
        return complete

    def _usage(self, data: dict[str, Any]) -> None:
        usage = (
            data.get("usage")
            or (data.get("message") or {}).get("usage")
            or (data.get("response") or {}).get("usage")
        )
        if not isinstance(usage, dict):
            return
        # Anthropic reports input at message_start and output at message_delta: keep both.
        self.usage = self.usage.then(FORMATS[self.protocol].usage_of(usage))

    def finish(self) -> bytes:
        tail, self._tail = self._tail, b""
        if tail.strip():
            for event in self.parser.feed(tail + b"\n\n"):
                if event.data != "[DONE]":
                    _data_json(event.data)
            return tail + b"\n\n"
        return b""

    def error(self, message: str) -> bytes:
        return FORMATS[self.protocol].error_event(message)


class Translating:
    def __init__(
        self,
        upstream: Protocol,
        client: Protocol,
        body: dict[str, Any],
        names: ToolNames,
        model: str,
    ) -> None:
        self.parser = SSEParser()
        self.to_chat = FORMATS[upstream].stream_decoder(model)
        self.client = FORMATS[client].stream_encoder(body, names, model)
        self.at_boundary = True
        self.usage = Usage()
        self.complete = False
        self.upstream_done = False
        self.finished = False

    @property
    def ended(self) -> bool:
        return self.upstream_done

    def _chunks(self, chunks: list[ChatChunk]) -> bytes:
        out = b""
        for chunk in chunks:
            if FORMATS["openai"].answer_finished(chunk):  # chunks in the chat pivot
                self.finished = True
            usage = chunk.get("usage")
            if isinstance(usage, dict):  # chunks in the chat pivot
                self.usage = self.usage.then(FORMATS["openai"].usage_of(usage))
            out += self.client.feed(chunk)
        return out

    def feed(self, chunk: bytes) -> bytes:
        out = b""
        for event in self.parser.feed(chunk):
            if event.data == "[DONE]" or event.event in _TERMINAL:
                self.upstream_done = self.finished = True
            if event.data == "[DONE]":
                continue
            data = _data_json(event.data)
            if isinstance(data, dict) and _terminal_type(data):
                self.upstream_done = self.finished = True
            out += self._chunks(self.to_chat.feed(event.event, data))
        return out

    def finish(self) -> bytes:
        out = b""
        for event in self.parser.flush():
            if event.data != "[DONE]":
                out += self._chunks(self.to_chat.feed(event.event, _data_json(event.data)))
        self.complete = True
        return out + self.client.finish()

    def error(self, message: str) -> bytes:
        return self.client.error(message)


def adapter(
    upstream: Protocol,
    client: Protocol,
    body: dict[str, Any],
    names: ToolNames,
    model: str,
) -> StreamAdapter:
    if upstream == client:
        return Passthrough(client)
    return Translating(upstream, client, body, names, model)
