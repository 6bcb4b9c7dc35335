"""The three wire formats the proxy speaks, each one object in one module: its upstream path
and auth headers, its request to and from chat, its answer to and from chat, its stream
decoder and encoder, and its error body and error event. Chat completions is the pivot every
translation goes through. Nothing else in the proxy asks which format it is dealing with:
it asks `FORMATS[protocol]`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from proxy.formats.anthropic import AnthropicFormat
from proxy.formats.chat import ChatFormat
from proxy.formats.responses import ResponsesFormat
from proxy.settings import Protocol as ProtocolName
from proxy.translate.responses import ToolNames
from proxy.translate.shapes import ChatChunk, ChatCompletion
from proxy.usage import Usage


class StreamDecoder(Protocol):
    """Upstream stream events in, chat completion chunks out."""

    def feed(self, event: str | None, data: Any) -> list[ChatChunk]: ...


class StreamEncoder(Protocol):
    """Chat completion chunks in, the client's stream events (SSE bytes) out."""

    def feed(self, chunk: ChatChunk) -> bytes: ...

    def finish(self) -> bytes: ...

    def error(self, message: str) -> bytes: ...


class WireFormat(Protocol):
    path: str  # under an upstream's base URL
    forwarded_headers: tuple[str, ...]  # client headers an upstream of this format receives

    def auth_headers(self, key: str | None) -> dict[str, str]: ...

    def request_to_chat(self, body: dict[str, Any]) -> tuple[dict[str, Any], ToolNames]: ...

    def request_from_chat(self, chat: dict[str, Any], max_tokens: int) -> dict[str, Any]: ...

    def response_to_chat(self, data: dict[str, Any]) -> ChatCompletion: ...

    def response_from_chat(
        self, chat: ChatCompletion, body: dict[str, Any], names: ToolNames, model: str
    ) -> dict[str, Any]: ...

    def stream_decoder(self, model: str) -> StreamDecoder: ...

    def stream_encoder(
        self, body: dict[str, Any], names: ToolNames, model: str
    ) -> StreamEncoder: ...

    def error_body(self, status: int, message: str) -> dict[str, Any]: ...

    def error_event(self, message: str) -> bytes: ...

    def usage_of(self, usage: Mapping[str, Any]) -> Usage:
        """An answer's usage object: input (cache reads and writes included), of which cache
        reads and writes, and output."""
        ...

    def split_system(self, body: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
        """The texts of the harness's system prompt, and the body without it."""
        ...

    def with_system(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        """The body with `text` as its only system prompt."""
        ...

    def system_first(self, body: dict[str, Any]) -> dict[str, Any]:
        """The body with its system text before the conversation, for upstreams whose chat
        templates refuse it later (a no-op where the format keeps system text apart)."""
        ...

    def check(self, body: dict[str, Any]) -> None:
        """Raise validate.Malformed naming the first missing or mistyped field of a request."""
        ...

    def answer_finished(self, event: Mapping[str, Any]) -> bool:
        """Whether this stream event (its data) says the answer is over, before the format's
        own terminal event (chat's finish_reason before `[DONE]`)."""
        ...


FORMATS: dict[ProtocolName, WireFormat] = {
    "openai": ChatFormat(),
    "anthropic": AnthropicFormat(),
    "responses": ResponsesFormat(),
}
