"""What every translation reads the same way from OpenAI chat completions (the proxy's pivot
format)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def reasoning_of(message: Mapping[str, Any]) -> str:
    """A local reasoning model's thoughts in a chat message or delta: `reasoning_content`
    (DeepSeek, Qwen3 on llama.cpp) or `reasoning` (vLLM, Ollama)."""
    value = message.get("reasoning_content") or message.get("reasoning")
    return value if isinstance(value, str) else ""


def text_of(content: Any) -> str:
    """The text of a message's content: a string as is, the texts of a list of parts joined
    by newlines (images and other parts carry none)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and "text" in part
        )
    return "" if content is None else str(content)


def is_system(item: Any) -> bool:
    """A system (or developer) message, in any format's message list."""
    return isinstance(item, dict) and item.get("role") in ("system", "developer")


def fold_system(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat messages with every system (or developer) message moved into one leading system
    message: many local chat templates (llama.cpp's among them) refuse a system message after
    the conversation started, which Claude Code sends."""
    system_at = [i for i, m in enumerate(messages) if is_system(m)]
    if system_at in ([], [0]):
        return messages
    texts = [text for i in system_at if (text := text_of(messages[i].get("content")))]
    rest = [m for i, m in enumerate(messages) if i not in set(system_at)]
    return ([{"role": "system", "content": "\n\n".join(texts)}] if texts else []) + rest
