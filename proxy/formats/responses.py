"""The OpenAI Responses API (`/v1/responses`), which Codex speaks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from proxy import validate
from proxy.sse import encode
from proxy.translate import responses as translation
from proxy.translate.chat import is_system, text_of
from proxy.translate.responses import ToolNames
from proxy.translate.responses_stream import StreamFromChat
from proxy.translate.shapes import ChatCompletion
from proxy.translate.to_chat import ResponsesDecoder, responses_response_to_chat
from proxy.translate.upstream_requests import chat_to_responses_request
from proxy.usage import Usage, count, whole


class ResponsesFormat:
    forwarded_headers: tuple[str, ...] = ()
    path = "/responses"

    def auth_headers(self, key: str | None) -> dict[str, str]:
        return {"authorization": f"Bearer {key}"} if key else {}

    def request_to_chat(self, body: dict[str, Any]) -> tuple[dict[str, Any], ToolNames]:
        return translation.request_to_chat(body)

    def request_from_chat(self, chat: dict[str, Any], max_tokens: int) -> dict[str, Any]:
        return chat_to_responses_request(chat)

    def response_to_chat(self, data: dict[str, Any]) -> ChatCompletion:
        return responses_response_to_chat(data)

    def response_from_chat(
        self, chat: ChatCompletion, body: dict[str, Any], names: ToolNames, model: str
    ) -> dict[str, Any]:
        return translation.response_from_chat(chat, body, names, model)

    def stream_decoder(self, model: str) -> ResponsesDecoder:
        return ResponsesDecoder(model)

    def stream_encoder(self, body: dict[str, Any], names: ToolNames, model: str) -> StreamFromChat:
        return StreamFromChat(body, names, model)

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return translation.error_body(status, message)

    def error_event(self, message: str) -> bytes:
        payload = {
            "type": "error",
            "code": "server_error",
            "message": message,
            "sequence_number": 0,
        }
        return encode(payload, "error")

    def usage_of(self, usage: Mapping[str, Any]) -> Usage:
        details = usage.get("input_tokens_details")
        details = details if isinstance(details, dict) else {}
        return Usage(
            count(usage.get("input_tokens")),
            count(usage.get("output_tokens")),
            whole(details.get("cached_tokens")),
        )

    def split_system(self, body: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
        # Codex sends its system prompt as developer messages, with no instructions.
        items = body.get("input")
        texts = [text_of(body.get("instructions"))]
        rest = {k: v for k, v in body.items() if k != "instructions"}
        if isinstance(items, list):
            system = [i for i in items if is_system(i) and i.get("type", "message") == "message"]
            texts += [text_of(i.get("content")) for i in system]
            rest["input"] = [i for i in items if not any(i is s for s in system)]
        return texts, rest

    def with_system(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        return {**body, "instructions": text}

    def system_first(self, body: dict[str, Any]) -> dict[str, Any]:
        return body

    def check(self, body: dict[str, Any]) -> None:
        validate.responses(body)

    def answer_finished(self, event: Mapping[str, Any]) -> bool:
        return False  # only its terminal event ends it
