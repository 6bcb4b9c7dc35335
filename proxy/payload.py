"""The bytes sent to an upstream: the client's body as it is when both speak the same format,
else its chat form translated; the lean prompt on the local route, and system messages
folded to the front where the upstream needs it."""

from __future__ import annotations

from typing import Any

import orjson

from proxy.formats import FORMATS
from proxy.rewrite import fold_system, rewrite
from proxy.settings import Protocol, ProxySettings
from proxy.upstream import Upstream


def build(
    settings: ProxySettings,
    lean_prompt: str,
    protocol: Protocol,
    body: dict[str, Any],
    chat_view: dict[str, Any],
    upstream: Upstream,
    model: str,
    mode: str,
) -> bytes:
    lean = (
        upstream.name == "local"
        and settings.local_rewrite
        and (mode in ("local",) or (mode == "auto" and settings.local_rewrite_auto))
    )
    fold = upstream.protocol == "openai" and upstream.settings.system_first
    if upstream.protocol == protocol:
        out = {**body, "model": model}
        out = rewrite(protocol, out, lean_prompt) if lean else out
        if fold:
            out["messages"] = fold_system(out.get("messages") or [])
        return orjson.dumps(out)
    chat = {**chat_view, "model": model}
    if lean:
        chat = rewrite("openai", chat, lean_prompt)
    if fold:
        chat["messages"] = fold_system(chat.get("messages") or [])
    return orjson.dumps(
        FORMATS[upstream.protocol].request_from_chat(chat, upstream.settings.max_output_tokens)
    )


def passthrough_headers(
    protocol: Protocol, upstream: Upstream, headers: dict[str, str]
) -> dict[str, str]:
    if protocol != upstream.protocol:
        return {}  # translated: the client's format headers mean nothing upstream
    return {k: headers[k] for k in FORMATS[protocol].forwarded_headers if k in headers}
