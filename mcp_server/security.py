"""Requests from elsewhere must not drive the daemon: Host and Origin checks (DNS rebinding,
cross-site forms, other local pages), and a size limit on bodies, as plain ASGI middleware so
they cost next to nothing per request.

Same origin means scheme, host and port: a page served by another program on 127.0.0.1 (any
other port) is another origin. A browser sends `Origin` with every cross-origin POST and
`Sec-Fetch-Site` with every request; a harness or SDK sends neither. Writes must also carry a
JSON body (except the review page's forms, which carry a CSRF token): a page can send
`text/plain` without asking (a "simple" request), never `application/json`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_SAME_ORIGIN_FETCH = frozenset({b"same-origin", b"none"})
# HTML forms of the review pages: urlencoded, protected by their CSRF token.
_FORM_PREFIX = "/review/session/"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_API_PREFIXES = ("/v1/", "/embedded/")


def _hostname(value: str) -> str:
    """'127.0.0.1:9099' -> '127.0.0.1'; '[::1]:9099' -> '::1'."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(bind_host: str, public_url: str | None) -> frozenset[str]:
    hosts = set(LOOPBACK_HOSTS)
    if bind_host not in {"0.0.0.0", "::", ""}:
        hosts.add(_hostname(bind_host))
    if public_url:
        name = urlsplit(public_url).hostname
        if name:
            hosts.add(name.lower())
    return frozenset(hosts)


def origin_key(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin or URL; None when it is not a http(s) origin."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[parts.scheme]


def allowed_origins(
    hosts: Iterable[str], port: int, public_url: str | None
) -> frozenset[tuple[str, str, int]]:
    """The daemon's own origins: each allowed host name on its port, and the public URL."""
    found = {("http", host, port) for host in hosts}
    if public_url and (key := origin_key(public_url)) is not None:
        found.add(key)
    return frozenset(found)


class HostOriginGuard:
    """Host and Origin checks, and (with `body_limit`) the body limit of the daemon's own JSON
    routes: one middleware layer, as every layer costs each request's coroutine chain."""

    def __init__(
        self,
        app: ASGIApp,
        hosts: frozenset[str],
        origins: frozenset[tuple[str, str, int]],
        body_limit: int | None = None,
        unlimited: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.hosts = hosts
        self.origins = origins
        self.body_limit = body_limit
        self.unlimited = unlimited

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            k: v
            for k, v in scope["headers"]
            if k in (b"host", b"origin", b"sec-fetch-site", b"content-type", b"content-length")
        }
        host = headers.get(b"host", b"").decode("latin-1")
        if _hostname(host) not in self.hosts:
            await _refuse(scope, receive, send, f"host {host!r} is not allowed")
            return
        reason = None if scope["method"] in _SAFE_METHODS else self._write_refusal(scope, headers)
        if reason:
            await _refuse(scope, receive, send, reason)
            return
        if (
            self.body_limit is not None
            and scope["method"] in _BODY_METHODS
            and not scope["path"].startswith(self.unlimited)
        ):
            replay = await _read_limited(scope, receive, send, self.body_limit)
            if replay is None:
                return  # refused: 413 sent
            receive = replay
        await self.app(scope, receive, send)

    def _write_refusal(self, scope: Scope, headers: dict[bytes, bytes]) -> str | None:
        origin = headers.get(b"origin")
        if origin is not None and origin_key(origin.decode("latin-1")) not in self.origins:
            return f"cross-origin request refused (origin {origin.decode('latin-1')[:100]!r})"
        fetch_site = headers.get(b"sec-fetch-site")
        if fetch_site is not None and fetch_site not in _SAME_ORIGIN_FETCH:
            return f"{fetch_site.decode('latin-1')} request refused"
        if (
            scope["method"] in _BODY_METHODS
            and not scope["path"].startswith(_FORM_PREFIX)
            and headers.get(b"content-length") != b"0"
        ):
            content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if not (content_type == b"application/json" or content_type.endswith(b"+json")):
                shown = content_type.decode("latin-1") or "none"
                return f"request body must be JSON: content-type application/json (got {shown})"
        return None


async def _read_limited(scope: Scope, receive: Receive, send: Send, limit: int) -> Receive | None:
    """Read a body of the daemon's own JSON routes (review API, dashboard, MCP) up to `limit`
    bytes before any route parses it; larger ones get 413 (None returned). The proxy routes
    enforce their own, larger limit while streaming."""
    for key, value in scope["headers"]:
        if key == b"content-length" and value.isdigit() and int(value) > limit:
            await _too_large(scope, receive, send, limit)
            return None
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if size > limit:
            await _too_large(scope, receive, send, limit)
            return None
        if not message.get("more_body", False):
            break
    replay = iter(messages)

    async def replayed() -> Message:
        return next(replay, None) or await receive()

    return replayed


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    await PlainTextResponse(f"request body too large: the limit is {limit} bytes", status_code=413)(
        scope, receive, send
    )


async def _refuse(scope: Scope, receive: Receive, send: Send, reason: str) -> None:
    await _error(scope, 403, reason)(scope, receive, send)


def _error(scope: Scope, status: int, message: str) -> Response:
    """Proxy clients get an error their SDK can read: one body that is both an OpenAI error
    object and an Anthropic one. Pages and the review API get plain text."""
    if scope["path"].startswith(_API_PREFIXES):
        kind = "permission_error" if status == 403 else "invalid_request_error"
        return JSONResponse(
            {"type": "error", "error": {"type": kind, "message": message, "code": None}},
            status_code=status,
        )
    return PlainTextResponse(message, status_code=status)
