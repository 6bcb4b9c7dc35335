"""The upstream side, requests: a chat request turned into what an Anthropic or a Responses
upstream expects."""

from __future__ import annotations

from typing import Any

import orjson

from proxy.translate.chat import text_of


def _anthropic_image(part: dict[str, Any]) -> dict[str, Any]:
    url = str((part.get("image_url") or {}).get("url", ""))
    if url.startswith("data:") and ";base64," in url:
        media, data = url[5:].split(";base64,", 1)
        return {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _anthropic_content(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content or []:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text":
            blocks.append({"type": "text", "text": part.get("text", "")})
        elif part.get("type") == "image_url":
            blocks.append(_anthropic_image(part))
    return blocks


DEFAULT_MAX_TOKENS = 16_384


def chat_to_anthropic_request(
    chat: dict[str, Any], max_tokens: int = DEFAULT_MAX_TOKENS
) -> dict[str, Any]:
    system: list[str] = []
    messages: list[dict[str, Any]] = []

    def append(role: str, blocks: list[dict[str, Any]]) -> None:
        if messages and messages[-1]["role"] == role:  # Anthropic wants roles to alternate
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})

    for message in chat.get("messages") or []:
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(text_of(message.get("content")))
        elif role == "tool":
            append(
                "user",
                [
                    {
                        "type": "tool_result",
                        "tool_use_id": message.get("tool_call_id", ""),
                        "content": text_of(message.get("content")),
                    }
                ],
            )
        elif role == "assistant":
            blocks = _anthropic_content(message.get("content"))
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                try:
                    arguments = orjson.loads(function.get("arguments") or "{}")
                except orjson.JSONDecodeError:
                    arguments = {"_unparsed_arguments": function.get("arguments")}
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": call.get("id", ""),
                        "name": function.get("name", ""),
                        "input": arguments,
                    }
                )
            append("assistant", blocks or [{"type": "text", "text": ""}])
        else:
            append("user", _anthropic_content(message.get("content")))
    body: dict[str, Any] = {
        "model": chat.get("model"),
        "messages": messages,
        # Anthropic requires a limit; a client that set none gets the model's own (config).
        "max_tokens": chat.get("max_tokens") or chat.get("max_completion_tokens") or max_tokens,
    }
    if system:
        body["system"] = "\n\n".join(system)
    for key in ("temperature", "top_p"):
        if chat.get(key) is not None:
            body[key] = chat[key]
    if chat.get("stop"):
        body["stop_sequences"] = chat["stop"] if isinstance(chat["stop"], list) else [chat["stop"]]
    tools = [
        {
            "name": t["function"].get("name", ""),
            "description": t["function"].get("description", ""),
            "input_schema": t["function"].get("parameters") or {"type": "object", "properties": {}},
        }
        for t in chat.get("tools") or []
        if isinstance(t, dict) and t.get("type") == "function"
    ]
    if tools:
        body["tools"] = tools
        choice = chat.get("tool_choice")
        if choice == "required":
            body["tool_choice"] = {"type": "any"}
        elif choice == "none":
            body["tool_choice"] = {"type": "none"}
        elif isinstance(choice, dict):
            body["tool_choice"] = {
                "type": "tool",
                "name": (choice.get("function") or {}).get("name", ""),
            }
    if chat.get("stream"):
        body["stream"] = True
    return body


def chat_to_responses_request(chat: dict[str, Any]) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    instructions: list[str] = []
    for message in chat.get("messages") or []:
        role = message.get("role")
        if role in ("system", "developer"):
            instructions.append(text_of(message.get("content")))
        elif role == "tool":
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": message.get("tool_call_id", ""),
                    "output": text_of(message.get("content")),
                }
            )
        else:
            content = message.get("content")
            kind = "output_text" if role == "assistant" else "input_text"
            parts: list[dict[str, Any]] = []
            if isinstance(content, str) and content:
                parts.append({"type": kind, "text": content})
            elif isinstance(content, list):
                for part in content:
                    if part.get("type") == "text":
                        parts.append({"type": kind, "text": part.get("text", "")})
                    elif part.get("type") == "image_url":
                        parts.append(
                            {
                                "type": "input_image",
                                "image_url": (part.get("image_url") or {}).get("url"),
                            }
                        )
            if parts:
                items.append({"type": "message", "role": role, "content": parts})
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                items.append(
                    {
                        "type": "function_call",
                        "call_id": call.get("id", ""),
                        "name": function.get("name", ""),
                        "arguments": function.get("arguments") or "{}",
                    }
                )
    body: dict[str, Any] = {"model": chat.get("model"), "input": items, "store": False}
    if instructions:
        body["instructions"] = "\n\n".join(instructions)
    tools = [
        {
            "type": "function",
            "name": t["function"].get("name", ""),
            "description": t["function"].get("description", ""),
            "parameters": t["function"].get("parameters") or {"type": "object", "properties": {}},
        }
        for t in chat.get("tools") or []
        if isinstance(t, dict) and t.get("type") == "function"
    ]
    if tools:
        body["tools"] = tools
        choice = chat.get("tool_choice")
        if isinstance(choice, str):
            body["tool_choice"] = choice
        elif isinstance(choice, dict):
            body["tool_choice"] = {
                "type": "function",
                "name": (choice.get("function") or {}).get("name", ""),
            }
    if chat.get("max_tokens") is not None:
        body["max_output_tokens"] = chat["max_tokens"]
    for key in ("temperature", "top_p", "parallel_tool_calls"):
        if chat.get(key) is not None:
            body[key] = chat[key]
    if chat.get("stream"):
        body["stream"] = True
    return body
