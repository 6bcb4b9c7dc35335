"""A fake signal-cli HTTP daemon on loopback (`signal-cli daemon --http`): `GET /api/v1/events`
streams `receive` events the test pushes, `POST /api/v1/rpc` takes JSON-RPC `send` and
`sendTyping` calls and records them. `drop()` ends the event streams, as a restart does."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.aio_server import AioServer

ACCOUNT = "+15550000000"


@dataclass
class FakeSignal(AioServer):
    calls: list[dict[str, Any]] = field(default_factory=list)  # JSON-RPC requests
    connections: int = 0
    fail_sends: bool = False

    def __post_init__(self) -> None:
        super().__init__()
        self._streams: list[asyncio.Queue[bytes | None]] = []
        self._timestamp = 1_764_500_000_000

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.drop()
        super().stop()

    def listening(self) -> int:
        return len(self._streams)

    def say(self, sender: str, text: str, group: str | None = None) -> None:
        """A message from `sender` (in `group`), as signal-cli reports it."""
        self._timestamp += 1
        data: dict[str, Any] = {"timestamp": self._timestamp, "message": text}
        if group:
            data["groupInfo"] = {"groupId": group, "type": "DELIVER"}
        self.event({"sourceNumber": sender, "source": sender, "dataMessage": data})

    def event(self, envelope: dict[str, Any], raw: bytes | None = None) -> None:
        payload = json.dumps({"envelope": envelope, "account": ACCOUNT})
        chunk = raw if raw is not None else f"event:receive\ndata:{payload}\n\n".encode()
        self.loop.call_soon_threadsafe(self._broadcast, chunk)

    def drop(self) -> None:
        self.loop.call_soon_threadsafe(self._broadcast, None)

    def sent(self, to: str) -> list[str]:
        """The texts sent to a number or group (`group:<id>`)."""
        out = []
        for call in list(self.calls):
            params = call.get("params", {})
            target = "group:" + params["groupId"] if "groupId" in params else params["recipient"][0]
            if call.get("method") == "send" and target == to:
                out.append(params["message"])
        return out

    def typing_to(self, to: str) -> int:
        return sum(
            1
            for c in list(self.calls)
            if c.get("method") == "sendTyping" and to in c["params"].get("recipient", [])
        )

    # ------------------------------------------------------------------ the server (its thread)
    def _broadcast(self, chunk: bytes | None) -> None:
        for queue in self._streams:
            queue.put_nowait(chunk)

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v1/events", self._events)
        app.router.add_post("/api/v1/rpc", self._rpc)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._streams.append(queue)
        self.connections += 1
        try:
            while (chunk := await queue.get()) is not None:
                await response.write(chunk)
        finally:
            self._streams.remove(queue)
        return response

    async def _rpc(self, request: web.Request) -> web.Response:
        if not request.content_type.startswith("application/json"):
            return web.Response(status=415)
        call = await request.json()
        self.calls.append(call)
        if self.fail_sends and call.get("method") == "send":
            error = {"code": -1, "message": "Failed to send message"}
            return web.json_response({"jsonrpc": "2.0", "id": call.get("id"), "error": error})
        result = {"timestamp": self._timestamp} if call.get("method") == "send" else {}
        return web.json_response({"jsonrpc": "2.0", "id": call.get("id"), "result": result})
