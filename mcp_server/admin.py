"""The admin token: made on first start, kept 0600 in the config dir, shown by
`brainrouter token`. Ops endpoints (restart, upgrade) require it; so does every request when
the daemon is bound beyond loopback."""

from __future__ import annotations

import hmac
import os
import secrets
import stat
from pathlib import Path

from platformdirs import user_config_path
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

HEADER = "x-brainrouter-token"


class TokenError(RuntimeError):
    pass


def token_path() -> Path:
    return user_config_path("brainrouter") / "admin-token"


def load_or_create_token(path: Path | None = None) -> str:
    path = path or token_path()
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise TokenError(f"{path} is readable by others (mode {mode:o}); run: chmod 600 {path}")
        token = path.read_text().strip()
        if len(token) < 32:
            raise TokenError(f"{path} does not hold a valid token; delete it to make a new one")
        return token
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


def presented_token(headers: dict[str, str]) -> str | None:
    if headers.get(HEADER):
        return headers[HEADER]
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return headers.get("x-api-key")


def valid(token: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(presented.encode(), token.encode())


class RequireToken:
    """For a daemon bound beyond loopback: nothing but /health without the token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] != "/health":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            if not valid(self.token, presented_token(headers)):
                await PlainTextResponse("admin token required", status_code=401)(
                    scope, receive, send
                )
                return
        await self.app(scope, receive, send)
