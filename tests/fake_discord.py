"""A fake Discord on loopback that the real discord.py connects to: the REST calls a bot makes
(who am I, send a message, typing) and the gateway websocket (HELLO, IDENTIFY → READY, RESUME
→ RESUMED, heartbeats, MESSAGE_CREATE pushed by the test), zlib-stream compressed as the real
gateway does. `drop()` closes the socket the way a gateway restart does."""

from __future__ import annotations

import itertools
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.aio_server import AioServer

BOT_ID = "900000000000000001"
_ids = itertools.count(1_000_000_000_000_000_000)


def _user(user_id: str, name: str, bot: bool = False) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": name,
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
        "bot": bot,
    }


def _message(
    channel: str, author: dict[str, Any], content: str, guild: str | None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(next(_ids)),
        "channel_id": channel,
        "author": author,
        "content": content,
        "timestamp": "2026-11-30T12:00:00.000000+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
    }
    if guild:
        data["guild_id"] = guild
    return data


def _json(data: Any, status: int = 200) -> web.Response:
    # Exactly application/json: discord.py reads a body as JSON only then (as Discord sends).
    body = json.dumps(data).encode()
    return web.Response(body=body, status=status, headers={"Content-Type": "application/json"})


@dataclass
class _Socket:
    ws: web.WebSocketResponse
    compress: Any | None  # a zlib compressobj for zlib-stream, None for plain JSON
    sequence: int = 0


@dataclass
class FakeDiscord(AioServer):
    token: str = "fake-bot-token"
    sent: list[dict[str, Any]] = field(default_factory=list)  # {"channel", "content", ...}
    typing: list[str] = field(default_factory=list)
    identifies: int = 0
    resumes: int = 0
    logins: int = 0
    heartbeats: int = 0
    heartbeat_interval_ms: int = 250  # Discord says about 41 s; short, so tests see several

    def __post_init__(self) -> None:
        super().__init__()
        self._sockets: list[_Socket] = []

    # ------------------------------------------------------------------ control (test thread)
    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway/"

    def connected(self) -> int:
        return len(self._sockets)

    def say(self, channel: str, author: str, content: str, guild: str | None = None) -> None:
        """A user writes in a channel: MESSAGE_CREATE to every connected bot."""
        data = _message(channel, _user(author, f"user{author[-4:]}"), content, guild)
        self.run(self._dispatch("MESSAGE_CREATE", data))

    def drop(self) -> None:
        """Close every gateway connection with 4000 (unknown error): a bot must resume."""

        async def close() -> None:
            for socket in list(self._sockets):
                await socket.ws.close(code=4000, message=b"fake gateway restart")

        self.run(close())

    def texts(self, channel: str) -> list[str]:
        return [m["content"] for m in list(self.sent) if m["channel"] == channel]

    # ------------------------------------------------------------------ the server (its thread)
    def routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v10/users/@me", self._me)
        app.router.add_get("/api/v10/oauth2/applications/@me", self._application)
        app.router.add_post("/api/v10/channels/{channel}/messages", self._send)
        app.router.add_post("/api/v10/channels/{channel}/typing", self._typing)
        app.router.add_get("/gateway/", self._gateway)

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bot {self.token}"

    async def _me(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        self.logins += 1
        return _json({**_user(BOT_ID, "brainrouter-bot", bot=True), "flags": 0})

    async def _application(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        return _json(
            {
                "id": BOT_ID,
                "name": "brainrouter",
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": _user("900000000000000002", "owner"),
                "verify_key": "0" * 64,
                "flags": 0,
            }
        )

    async def _send(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        body = await request.json()
        channel = request.match_info["channel"]
        self.sent.append({"channel": channel, **body})
        bot = _user(BOT_ID, "brainrouter-bot", bot=True)
        return _json(_message(channel, bot, body.get("content", ""), None))

    async def _typing(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        self.typing.append(request.match_info["channel"])
        return web.Response(status=204)

    async def _send_json(self, socket: _Socket, payload: dict[str, Any]) -> None:
        text = json.dumps(payload)
        if socket.compress is None:
            await socket.ws.send_str(text)
        else:
            data = socket.compress.compress(text.encode()) + socket.compress.flush(
                zlib.Z_SYNC_FLUSH
            )
            await socket.ws.send_bytes(data)

    async def _dispatch(
        self, event: str, data: dict[str, Any], only: _Socket | None = None
    ) -> None:
        for socket in [only] if only else list(self._sockets):
            socket.sequence += 1
            await self._send_json(socket, {"op": 0, "t": event, "s": socket.sequence, "d": data})

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        compress = request.query.get("compress")
        if compress not in (None, "zlib-stream"):
            await ws.close(code=4000, message=b"the fake speaks zlib-stream only")
            return ws
        socket = _Socket(ws, zlib.compressobj() if compress else None)
        await self._send_json(
            socket,
            {
                "op": 10,
                "d": {"heartbeat_interval": self.heartbeat_interval_ms},
                "s": None,
                "t": None,
            },
        )
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            payload = json.loads(frame.data)
            op = payload.get("op")
            if op == 1:
                self.heartbeats += 1
                await self._send_json(socket, {"op": 11, "d": None, "s": None, "t": None})
            elif op == 2:
                if payload["d"].get("token") != self.token:
                    await ws.close(code=4004, message=b"Authentication failed.")
                    break
                self.identifies += 1
                self._sockets.append(socket)
                ready = {
                    "v": 10,
                    "user": _user(BOT_ID, "brainrouter-bot", bot=True),
                    "guilds": [],
                    "session_id": f"session-{self.identifies}",
                    "resume_gateway_url": self.gateway_url,
                    "application": {"id": BOT_ID, "flags": 0},
                }
                await self._dispatch("READY", ready, only=socket)
            elif op == 6:
                self.resumes += 1
                self._sockets.append(socket)
                await self._dispatch("RESUMED", {}, only=socket)
        if socket in self._sockets:
            self._sockets.remove(socket)
        return ws
