"""Anthropic Messages (`/v1/messages`)."""

from __future__ import annotations

from typing import Any

from proxy.sse import encode
from proxy.translate import anthropic as translation
from proxy.translate.responses import ToolNames
from proxy.translate.to_chat import AnthropicDecoder, anthropic_response_to_chat
from proxy.translate.upstream_requests import chat_to_anthropic_request

API_VERSION = "2023-06-01"


class AnthropicFormat:
    # Anthropic's gateway protocol for Claude Code: these reach the upstream unchanged.
    forwarded_headers: tuple[str, ...] = ("anthropic-beta", "anthropic-version")
    path = "/messages"

    def auth_headers(self, key: str | None) -> dict[str, str]:
        headers = {"anthropic-version": API_VERSION}
        if key:
            headers["x-api-key"] = key
        return headers

    def request_to_chat(self, body: dict[str, Any]) -> tuple[dict[str, Any], ToolNames]:
        return translation.request_to_chat(body), ToolNames()

    def request_from_chat(self, chat: dict[str, Any], max_tokens: int) -> dict[str, Any]:
        return chat_to_anthropic_request(chat, max_tokens)

    def response_to_chat(self, data: dict[str, Any]) -> dict[str, Any]:
        return anthropic_response_to_chat(data)

    def response_from_chat(
        self, chat: dict[str, Any], body: dict[str, Any], names: ToolNames, model: str
    ) -> dict[str, Any]:
        return translation.response_from_chat(chat, model)

    def stream_decoder(self, model: str) -> AnthropicDecoder:
        return AnthropicDecoder(model)

    def stream_encoder(
        self, body: dict[str, Any], names: ToolNames, model: str
    ) -> translation.StreamFromChat:
        return translation.StreamFromChat(model)

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return translation.error_body(status, message)

    def error_event(self, message: str) -> bytes:
        return encode(translation.error_body(500, message), "error")
