"""Errors in the client's own protocol's shape."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from proxy.settings import Protocol
from proxy.translate import anthropic, responses


def error_response(
    protocol: Protocol, status: int, message: str, retry_after_s: int | None = None
) -> Response:
    body = (
        anthropic.error_body(status, message)
        if protocol == "anthropic"
        else responses.error_body(status, message)
    )
    headers = {"retry-after": str(retry_after_s)} if retry_after_s is not None else None
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )
