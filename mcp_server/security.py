"""Requests from elsewhere must not drive the daemon: Host and Origin checks (DNS rebinding,
cross-site forms), as a plain ASGI middleware so it costs next to nothing per request."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _hostname(value: str) -> str:
    """'127.0.0.1:9099' -> '127.0.0.1'; '[::1]:9099' -> '::1'."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def is_loopback(host: str) -> bool:
    import ipaddress

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


class HostOriginGuard:
    def __init__(self, app: ASGIApp, hosts: frozenset[str]) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            k: v for k, v in scope["headers"] if k in (b"host", b"origin", b"sec-fetch-site")
        }
        host = headers.get(b"host", b"").decode("latin-1")
        if _hostname(host) not in self.hosts:
            await _refuse(scope, receive, send, f"host {host!r} is not allowed")
            return
        if scope["method"] not in _SAFE_METHODS:
            origin = headers.get(b"origin")
            if origin is not None:
                name = urlsplit(origin.decode("latin-1")).hostname
                if not name or name.lower() not in self.hosts:
                    await _refuse(scope, receive, send, "cross-origin request refused")
                    return
            if headers.get(b"sec-fetch-site") == b"cross-site":
                await _refuse(scope, receive, send, "cross-site request refused")
                return
        await self.app(scope, receive, send)


async def _refuse(scope: Scope, receive: Receive, send: Send, reason: str) -> None:
    await PlainTextResponse(reason, status_code=403)(scope, receive, send)
