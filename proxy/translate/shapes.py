"""The shapes of OpenAI chat completions, the pivot every translation goes through, as the
proxy builds and reads them: an answer (whole or one stream chunk), its usage, its tool calls.
Requests stay `dict[str, Any]`: they come from clients, checked by `proxy.validate` only in
the fields the proxy reads, and every other field must pass through untouched.

Fields are optional (`total=False`) where upstreams omit them; mypy then checks every key the
translations write or read against these (a misspelt `finish_reasons` is an error)."""

from __future__ import annotations

from typing import Literal, TypedDict


class PromptTokensDetails(TypedDict, total=False):
    cached_tokens: int
    # Chat has no field for cache writes; kept so that a translation back to Anthropic has them.
    cache_creation_tokens: int


class ChatUsage(TypedDict, total=False):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails


class ToolCallFunction(TypedDict, total=False):
    name: str
    arguments: str


class ToolCall(TypedDict, total=False):
    index: int  # in stream deltas only
    id: str
    type: Literal["function"]
    function: ToolCallFunction


class AssistantMessage(TypedDict, total=False):
    role: Literal["assistant"]
    content: str | None
    tool_calls: list[ToolCall]
    # A local reasoning model's thoughts (DeepSeek, Qwen3 on llama.cpp).
    reasoning_content: str


class Choice(TypedDict, total=False):
    index: int
    message: AssistantMessage
    finish_reason: str | None


class ChatCompletion(TypedDict, total=False):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: ChatUsage


class ChunkChoice(TypedDict, total=False):
    index: int
    delta: AssistantMessage
    finish_reason: str | None


class ChatChunk(TypedDict, total=False):
    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: ChatUsage | None
