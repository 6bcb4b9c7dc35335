"""What a request is, read from the wire, so that config can route each kind on its own
(claude-code-router's scenarios, OneInfer's modality routing):

- `background`: a harness's own small requests, recognised by the model it names (Claude
  Code's small/fast model for titles, summaries and topic checks: `*haiku*` by default);
- `images`: a request that carries an image;
- `long_context`: a request whose text is over `long_context_tokens` (about 4 characters a
  token);
- `thinking`: extended thinking asked for (Anthropic `thinking.type: enabled`, Responses
  `reasoning.effort` high or xhigh);
- `main`: anything else.

Pure: a request body and its chat form in, the scenario and why out. The first that matches
in the order above wins."""

from __future__ import annotations

import fnmatch
from typing import Any, Literal

from proxy.settings import ScenarioSettings
from proxy.translate.chat import text_of

Scenario = Literal["background", "images", "long_context", "thinking", "main"]
CHARS_PER_TOKEN = 4


def _has_image(chat: dict[str, Any]) -> bool:
    for message in chat.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and any(
            isinstance(part, dict) and part.get("type") in ("image_url", "image", "input_image")
            for part in content
        ):
            return True
    return False


def _text_chars(chat: dict[str, Any]) -> int:
    """The length of a conversation's text and tool calls: read, never serialised (a client
    may send JSON nested deeper than any encoder goes)."""
    total = 0
    for message in chat.get("messages") or []:
        if not isinstance(message, dict):
            continue
        total += len(text_of(message.get("content")))
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                total += len(str(function.get("arguments") or ""))
    return total


def _thinking(body: dict[str, Any]) -> str | None:
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        return f"thinking with a budget of {thinking.get('budget_tokens')} tokens"
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and reasoning.get("effort") in ("high", "xhigh"):
        return f"reasoning effort {reasoning['effort']}"
    return None


def detect(
    body: dict[str, Any], chat: dict[str, Any], settings: ScenarioSettings
) -> tuple[Scenario, str]:
    model = str(body.get("model") or "")
    long_context_tokens = settings.long_context_tokens
    patterns = settings.background_models
    if any(fnmatch.fnmatchcase(model.lower(), pattern.lower()) for pattern in patterns):
        return "background", f"model {model} is a harness's background model"
    if _has_image(chat):
        return "images", "the request carries an image"
    tokens = _text_chars(chat) // CHARS_PER_TOKEN
    if tokens > long_context_tokens:
        return "long_context", f"about {tokens} tokens > {long_context_tokens}"
    if (why := _thinking(body)) is not None:
        return "thinking", why
    return "main", "main turn"
