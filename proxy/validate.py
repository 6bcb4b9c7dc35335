"""The shapes the proxy relies on, checked before anything else reads a request: a malformed
body gets a 400 in the client's own protocol naming what is wrong, never a 500, and never
reaches an upstream. Unknown fields stay allowed (harnesses add new ones all the time); only
the types of the fields brainrouter reads or translates are checked.
"""

from __future__ import annotations

from typing import Any

_CHAT_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
# Claude Code 2.1 also puts role "system" messages mid-conversation.
_ANTHROPIC_ROLES = frozenset({"user", "assistant", "system"})
_RESPONSES_ROLES = frozenset({"system", "developer", "user", "assistant"})


class Malformed(ValueError):
    """What is wrong, and where (e.g. `messages[2].content[0].text must be a string`)."""


def _need(ok: bool, where: str, what: str) -> None:
    if not ok:
        raise Malformed(f"{where} {what}")


def _str(value: Any, where: str) -> None:
    _need(isinstance(value, str), where, "must be a string")


def _one_of(value: Any, allowed: frozenset[str], where: str) -> None:
    _need(isinstance(value, str) and value in allowed, where, f"must be one of {sorted(allowed)}")


def _opt(body: dict[str, Any], key: str, kinds: type | tuple[type, ...], what: str) -> None:
    value = body.get(key)
    if value is not None:
        _need(isinstance(value, kinds) and not isinstance(value, bool), key, f"must be {what}")


def _common(body: dict[str, Any]) -> None:
    tools = body.get("tools")
    if tools is not None:
        _need(isinstance(tools, list), "tools", "must be an array")
        for i, tool in enumerate(tools):
            _need(isinstance(tool, dict), f"tools[{i}]", "must be an object")
    for key in ("max_tokens", "max_output_tokens", "max_completion_tokens"):
        _opt(body, key, int, "a whole number")
    for key in ("temperature", "top_p"):
        _opt(body, key, (int, float), "a number")
    _opt(body, "stream_options", dict, "an object")
    _opt(body, "tool_choice", (str, dict), "a string or an object")
    _opt(body, "metadata", dict, "an object")


def _parts(content: Any, where: str, text_types: frozenset[str]) -> None:
    """content: a string, null, or an array of typed parts whose text is a string."""
    if content is None or isinstance(content, str):
        return
    _need(isinstance(content, list), where, "must be a string or an array of parts")
    for i, part in enumerate(content):
        here = f"{where}[{i}]"
        _need(isinstance(part, dict), here, "must be an object")
        _str(part.get("type"), f"{here}.type")
        if part["type"] in text_types:
            _str(part.get("text"), f"{here}.text")


def _required(body: dict[str, Any], keys: tuple[str, ...]) -> None:
    missing = [key for key in keys if key not in body]
    if missing:
        raise Malformed(f"missing required field(s): {', '.join(missing)}")


def _messages(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """A chat or Messages request's messages, each an object, with where it stands; the
    fields every request has checked first."""
    _required(body, ("model", "messages"))
    _need(isinstance(body["messages"], list), "messages", "must be an array")
    _common(body)
    out = []
    for i, message in enumerate(body["messages"]):
        _need(isinstance(message, dict), f"messages[{i}]", "must be an object")
        out.append((f"messages[{i}]", message))
    return out


def chat(body: dict[str, Any]) -> None:
    """Raise Malformed naming the first field of a chat completions request of a wrong type."""
    for where, message in _messages(body):
        _one_of(message.get("role"), _CHAT_ROLES, f"{where}.role")
        _parts(message.get("content"), f"{where}.content", frozenset({"text"}))
        for part_i, part in enumerate(message.get("content") or []):
            if isinstance(part, dict) and part.get("type") == "image_url":
                image = part.get("image_url")
                ok = isinstance(image, str) or (
                    isinstance(image, dict) and isinstance(image.get("url"), str)
                )
                _need(ok, f"{where}.content[{part_i}].image_url", "must hold a url string")
        for key in ("tool_call_id", "name"):
            if message.get(key) is not None:
                _str(message[key], f"{where}.{key}")
        calls = message.get("tool_calls")
        if calls is not None:
            _need(isinstance(calls, list), f"{where}.tool_calls", "must be an array")
            for c, call in enumerate(calls):
                here = f"{where}.tool_calls[{c}]"
                _need(isinstance(call, dict), here, "must be an object")
                function = call.get("function")
                _need(isinstance(function, dict), f"{here}.function", "must be an object")
                _str(function.get("name"), f"{here}.function.name")
                arguments = function.get("arguments")
                _need(
                    arguments is None or isinstance(arguments, (str, dict)),
                    f"{here}.function.arguments",
                    "must be a string",
                )


def _anthropic_blocks(content: Any, where: str) -> None:
    if isinstance(content, str) or content is None:
        return
    _need(isinstance(content, list), where, "must be a string or an array of content blocks")
    for i, block in enumerate(content):
        here = f"{where}[{i}]"
        _need(isinstance(block, dict), here, "must be an object")
        kind = block.get("type")
        _str(kind, f"{here}.type")
        if kind == "text":
            _str(block.get("text"), f"{here}.text")
        elif kind in ("image", "document"):
            _need(isinstance(block.get("source"), dict), f"{here}.source", "must be an object")
        elif kind == "tool_use":
            _str(block.get("id"), f"{here}.id")
            _str(block.get("name"), f"{here}.name")
            _need(isinstance(block.get("input", {}), dict), f"{here}.input", "must be an object")
        elif kind == "tool_result":
            _str(block.get("tool_use_id"), f"{here}.tool_use_id")
            _anthropic_blocks(block.get("content"), f"{here}.content")
        elif kind == "thinking":
            _str(block.get("thinking"), f"{here}.thinking")


def anthropic(body: dict[str, Any]) -> None:
    """Raise Malformed naming the first field of a Messages request of a wrong type."""
    for where, message in _messages(body):
        _one_of(message.get("role"), _ANTHROPIC_ROLES, f"{where}.role")
        _need("content" in message, f"{where}.content", "is required")
        _anthropic_blocks(message.get("content"), f"{where}.content")
    system = body.get("system")
    if system is not None and not isinstance(system, str):
        _anthropic_blocks(system, "system")


def responses(body: dict[str, Any]) -> None:
    """Raise Malformed naming the first field of a Responses request of a wrong type."""
    _required(body, ("model", "input"))
    _need(isinstance(body["input"], (str, list)), "input", "must be a string or an array of items")
    _common(body)
    _opt(body, "instructions", str, "a string")
    items = body["input"]
    if isinstance(items, str):
        return
    text_types = frozenset({"input_text", "output_text", "text"})
    for i, item in enumerate(items):
        where = f"input[{i}]"
        _need(isinstance(item, dict), where, "must be an object")
        kind = item.get("type", "message")
        _str(kind, f"{where}.type")
        if kind == "message":
            _one_of(item.get("role", "user"), _RESPONSES_ROLES, f"{where}.role")
            _parts(item.get("content"), f"{where}.content", text_types)
        elif kind == "function_call":
            _str(item.get("name"), f"{where}.name")
            _need(
                item.get("arguments") is None or isinstance(item["arguments"], str),
                f"{where}.arguments",
                "must be a string",
            )
        elif kind == "function_call_output":
            output = item.get("output")
            _need(
                output is None or isinstance(output, (str, list)),
                f"{where}.output",
                "must be a string or an array",
            )
            if isinstance(output, list):
                _parts(output, f"{where}.output", text_types)
        for key in ("call_id", "id"):
            if item.get(key) is not None:
                _str(item[key], f"{where}.{key}")
