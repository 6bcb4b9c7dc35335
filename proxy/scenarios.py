"""What a request is, read from the wire, so that config can route each kind on its own
(claude-code-router's scenarios, OneInfer's modality routing):

- `background`: a harness's own small requests: the model it names (Claude Code's small/fast
  model for titles, summaries and topic checks: `*haiku*` by default), or a request without
  tools from a coding agent whose turns always carry tools (Claude Code's and opencode's
  session titles, recorded: they name the main model and send no tools);
- `images`: a request that carries an image;
- `long_context`: a request whose text is over `long_context_tokens` (about 4 characters a
  token);
- `continuation`: a tool's result going back to the model that called it (the last message,
  past system text, is a tool result): the rest of a task already routed;
- `subagent`: a subagent's turn (Claude Code's Agent tool: its requests carry
  `x-claude-code-agent-id` and `cc_is_subagent=true` in the billing line of the system prompt);
- `thinking`: extended thinking asked for (Anthropic `thinking.type: enabled`, Responses
  `reasoning.effort` high or xhigh);
- `main`: anything else.

Pure: a request body, its chat form and headers in, the scenario and why out. The first that
matches in the order above wins: a continuation that carries an image, or outgrows the
context, is routed as such; a subagent's own continuations follow its first request (the
task key holds the agent's id); Claude Code asks for thinking on every turn."""

from __future__ import annotations

import fnmatch
from typing import Any, Literal

from proxy.harnesses import harness_of
from proxy.settings import ScenarioSettings
from proxy.translate.chat import text_of

Scenario = Literal[
    "background", "images", "long_context", "continuation", "subagent", "thinking", "main"
]
SUBAGENT_HEADER = "x-claude-code-agent-id"
# Coding agents that send their tools with every turn of the agent: a request of theirs
# without any is one of their own small jobs (a title, a summary).
_ALWAYS_WITH_TOOLS = frozenset({"claude-code", "codex", "opencode"})
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


def _subagent(chat: dict[str, Any], headers: dict[str, str]) -> str | None:
    if agent := headers.get(SUBAGENT_HEADER):
        return f"Claude Code subagent {agent[:40]}"
    for message in chat.get("messages") or []:
        if not isinstance(message, dict) or message.get("role") != "system":
            break  # the billing line is in the leading system text
        if "cc_is_subagent=true" in text_of(message.get("content"))[:2000]:
            return "Claude Code subagent"
    return None


def _continues(chat: dict[str, Any]) -> bool:
    for message in reversed(chat.get("messages") or []):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("system", "developer"):
            return role == "tool"
    return False


def _thinking(body: dict[str, Any]) -> str | None:
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        return f"thinking with a budget of {thinking.get('budget_tokens')} tokens"
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and reasoning.get("effort") in ("high", "xhigh"):
        return f"reasoning effort {reasoning['effort']}"
    return None


def detect(
    body: dict[str, Any],
    chat: dict[str, Any],
    settings: ScenarioSettings,
    headers: dict[str, str] | None = None,
    harness: str | None = None,
) -> tuple[Scenario, str]:
    """`harness`: who sent it (proxy/harnesses.py), when the caller has already read it."""
    model = str(body.get("model") or "")
    long_context_tokens = settings.long_context_tokens
    patterns = settings.background_models
    if any(fnmatch.fnmatchcase(model.lower(), pattern.lower()) for pattern in patterns):
        return "background", f"model {model} is a harness's background model"
    tokens = _text_chars(chat) // CHARS_PER_TOKEN
    if harness is None:
        harness = harness_of((headers or {}).get("user-agent", ""), headers or {})
    # (a harness's long tool-less request, a compaction of a long session, is long_context)
    if harness in _ALWAYS_WITH_TOOLS and not body.get("tools") and tokens <= long_context_tokens:
        return "background", f"a {harness} request without tools (a title or summary)"
    if _has_image(chat):
        return "images", "the request carries an image"
    if tokens > long_context_tokens:
        return "long_context", f"about {tokens} tokens > {long_context_tokens}"
    if _continues(chat):
        return "continuation", "a tool result for the model that called the tool"
    if (who := _subagent(chat, headers or {})) is not None:
        return "subagent", who
    if (why := _thinking(body)) is not None:
        return "thinking", why
    return "main", "main turn"
