"""OpenAI chat completions: the pivot format (its translations to chat are the identity)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from proxy import validate
from proxy.sse import DONE, encode
from proxy.translate import responses as responses_translation
from proxy.translate.chat import fold_system, is_system, text_of
from proxy.translate.responses import ToolNames
from proxy.translate.shapes import ChatChunk, ChatCompletion
from proxy.translate.to_chat import ChatDecoder
from proxy.usage import Usage, count, whole


class ChatEncoder:
    """Chunks go out as they are; usage only when the client asked for it
    (stream_options.include_usage), as OpenAI does."""

    def __init__(self, include_usage: bool) -> None:
        self.include_usage = include_usage

    def feed(self, chunk: ChatChunk) -> bytes:
        if not self.include_usage and "usage" in chunk:
            if not chunk.get("choices"):
                return b""
            chunk = chunk.copy()
            del chunk["usage"]
        return encode(chunk)

    def finish(self) -> bytes:
        return DONE

    def error(self, message: str) -> bytes:
        return encode({"error": {"message": message, "type": "server_error", "code": None}})


class ChatFormat:
    forwarded_headers: tuple[str, ...] = ()
    path = "/chat/completions"

    def auth_headers(self, key: str | None) -> dict[str, str]:
        return {"authorization": f"Bearer {key}"} if key else {}

    def request_to_chat(self, body: dict[str, Any]) -> tuple[dict[str, Any], ToolNames]:
        return body, ToolNames()

    def request_from_chat(self, chat: dict[str, Any], max_tokens: int) -> dict[str, Any]:
        return chat

    def response_to_chat(self, data: dict[str, Any]) -> ChatCompletion:
        return cast(ChatCompletion, data)  # the upstream's own answer, passed on as it is

    def response_from_chat(
        self, chat: ChatCompletion, body: dict[str, Any], names: ToolNames, model: str
    ) -> dict[str, Any]:
        return dict(chat)

    def stream_decoder(self, model: str) -> ChatDecoder:
        return ChatDecoder(model)

    def stream_encoder(self, body: dict[str, Any], names: ToolNames, model: str) -> ChatEncoder:
        options = body.get("stream_options")
        return ChatEncoder(isinstance(options, dict) and options.get("include_usage") is True)

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        # OpenAI's error object (the Responses API uses the same shape).
        return responses_translation.error_body(status, message)

    def error_event(self, message: str) -> bytes:
        return ChatEncoder(False).error(message)

    def usage_of(self, usage: Mapping[str, Any]) -> Usage:
        details = usage.get("prompt_tokens_details")
        details = details if isinstance(details, dict) else {}
        return Usage(
            count(usage.get("prompt_tokens")),
            count(usage.get("completion_tokens")),
            whole(details.get("cached_tokens")),
            whole(details.get("cache_creation_tokens")),
        )

    def split_system(self, body: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
        messages = body.get("messages") or []
        texts = [text_of(m.get("content")) for m in messages if is_system(m)]
        return texts, {**body, "messages": [m for m in messages if not is_system(m)]}

    def with_system(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        messages = [{"role": "system", "content": text}, *(body.get("messages") or [])]
        return {**body, "messages": messages}

    def system_first(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body.get("messages") or []
        folded = fold_system(messages)
        return body if folded is messages else {**body, "messages": folded}

    def check(self, body: dict[str, Any]) -> None:
        validate.chat(body)

    def answer_finished(self, event: Mapping[str, Any]) -> bool:
        choices = event.get("choices")
        return bool(
            isinstance(choices, list)
            and choices
            and isinstance(choices[0], dict)
            and choices[0].get("finish_reason")
        )
