"""Anthropic Messages (`/v1/messages`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from proxy import validate
from proxy.sse import encode
from proxy.translate import anthropic as translation
from proxy.translate.chat import is_system, text_of
from proxy.translate.responses import ToolNames
from proxy.translate.shapes import ChatCompletion
from proxy.translate.to_chat import AnthropicDecoder, anthropic_response_to_chat
from proxy.translate.upstream_requests import chat_to_anthropic_request
from proxy.usage import Usage, count, whole

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

    def response_to_chat(self, data: dict[str, Any]) -> ChatCompletion:
        return anthropic_response_to_chat(data)

    def response_from_chat(
        self, chat: ChatCompletion, body: dict[str, Any], names: ToolNames, model: str
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

    def usage_of(self, usage: Mapping[str, Any]) -> Usage:
        if "input_tokens" not in usage and "output_tokens" not in usage:
            return Usage()
        read = whole(usage.get("cache_read_input_tokens"))
        written = whole(usage.get("cache_creation_input_tokens"))
        return Usage(
            whole(usage.get("input_tokens")) + read + written,
            count(usage.get("output_tokens")),
            read,
            written,
        )

    def split_system(self, body: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
        # Claude Code also sends role "system" messages mid-conversation.
        messages = body.get("messages") or []
        texts = [text_of(body.get("system"))]
        texts += [text_of(m.get("content")) for m in messages if is_system(m)]
        rest = {k: v for k, v in body.items() if k != "system"}
        rest["messages"] = [m for m in messages if not is_system(m)]
        return texts, rest

    def with_system(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        return {**body, "system": text}

    def system_first(self, body: dict[str, Any]) -> dict[str, Any]:
        return body

    def check(self, body: dict[str, Any]) -> None:
        validate.anthropic(body)

    def answer_finished(self, event: Mapping[str, Any]) -> bool:
        return False  # only its terminal event ends it
