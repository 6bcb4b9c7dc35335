"""Errors in the client's own protocol's shape."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from proxy.formats import FORMATS
from proxy.settings import Protocol


def error_response(
    protocol: Protocol, status: int, message: str, retry_after_s: int | None = None
) -> Response:
    body = FORMATS[protocol].error_body(status, message)
    headers = {"retry-after": str(retry_after_s)} if retry_after_s is not None else None
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )
