"""The bytes sent to an upstream: the client's body as it is when both speak the same format,
else its chat form translated; the lean prompt on the local route, and system messages
folded to the front where the upstream needs it."""

from __future__ import annotations

from typing import Any

import orjson

from proxy.formats import FORMATS
from proxy.rewrite import rewrite
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
    """`mode`: the request's routing mode (auto, local, cloud, model), or `internal` for the
    daemon's own requests, which the lean prompt never rewrites."""
    lean = (
        upstream.name == "local"
        and settings.local_rewrite
        and (mode in ("local",) or (mode == "auto" and settings.local_rewrite_auto))
    )
    same = upstream.protocol == protocol
    wire = FORMATS[upstream.protocol]
    out = {**(body if same else chat_view), "model": model}
    if lean:
        out = rewrite(protocol if same else "openai", out, lean_prompt)
    if not same:
        out = wire.request_from_chat(out, upstream.settings.max_output_tokens)
    if upstream.settings.system_first:
        out = wire.system_first(out)
    return orjson.dumps(out)


def passthrough_headers(
    protocol: Protocol, upstream: Upstream, headers: dict[str, str]
) -> dict[str, str]:
    if protocol != upstream.protocol:
        return {}  # translated: the client's format headers mean nothing upstream
    return {k: headers[k] for k in FORMATS[protocol].forwarded_headers if k in headers}
