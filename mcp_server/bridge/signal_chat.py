"""Signal through signal-cli's HTTP daemon (`signal-cli -a <number> daemon --http`): incoming
messages from its server-sent events (`GET /api/v1/events`), replies and typing indicators as
JSON-RPC calls (`POST /api/v1/rpc`). The user runs signal-cli; we only connect to it."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from mcp_server.bridge.core import Incoming
from mcp_server.bridge.settings import SignalSettings
from proxy.sse import SSEParser

log = logging.getLogger("brainrouter.bridge")

GROUP = "group:"


class SignalError(RuntimeError):
    """signal-cli refused a call or answered something that is not JSON-RPC."""


def incoming_of(event: Any, account: str | None) -> Incoming | None:
    """A text message from a `receive` event (typing, receipts and sync messages are not)."""
    if not isinstance(event, dict) or not isinstance(envelope := event.get("envelope"), dict):
        return None
    if account and event.get("account") not in (None, account):
        return None
    data = envelope.get("dataMessage")
    sender = envelope.get("sourceNumber") or envelope.get("source")
    if not isinstance(data, dict) or not isinstance(sender, str) or not sender:
        return None
    text = data.get("message")
    if not isinstance(text, str) or not text.strip():
        return None
    group = data.get("groupInfo")
    if isinstance(group, dict) and isinstance(group.get("groupId"), str):
        return Incoming("signal", GROUP + group["groupId"], sender, text, guild=group["groupId"])
    return Incoming("signal", sender, sender, text)


class SignalTransport:
    platform = "signal"

    def __init__(self, settings: SignalSettings, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.limit = settings.chunk_chars
        self.url = settings.url.rstrip("/")
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(30.0, read=None), trust_env=False
        )
        self._ids = itertools.count(1)
        self.on_connected: Callable[[], None] = lambda: None
        self.on_disconnected: Callable[[], None] = lambda: None

    def _target(self, conversation: str) -> dict[str, Any]:
        if conversation.startswith(GROUP):
            target: dict[str, Any] = {"groupId": conversation.removeprefix(GROUP)}
        else:
            target = {"recipient": [conversation]}
        if self.settings.account:
            target["account"] = self.settings.account
        return target

    async def _call(self, method: str, params: dict[str, Any]) -> Any:
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        response = await self._client.post(f"{self.url}/api/v1/rpc", json=request, timeout=30.0)
        if response.status_code == 201:  # a notification-like call with no result
            return None
        if response.status_code != 200:
            raise SignalError(f"signal-cli {method}: HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            raise SignalError(f"signal-cli {method}: not JSON") from None
        if not isinstance(answer, dict):
            raise SignalError(f"signal-cli {method}: not a JSON-RPC answer")
        if isinstance(error := answer.get("error"), dict):
            raise SignalError(f"signal-cli {method}: {str(error.get('message'))[:200]}")
        return answer.get("result")

    async def send(self, conversation: str, text: str) -> None:
        await self._call("send", {**self._target(conversation), "message": text})

    async def typing(self, conversation: str) -> None:
        await self._call("sendTyping", self._target(conversation))

    async def serve(self, deliver: Callable[[Incoming], Awaitable[None]]) -> None:
        params = {"account": self.settings.account} if self.settings.account else None
        async with self._client.stream(
            "GET",
            f"{self.url}/api/v1/events",
            params=params,
            timeout=httpx.Timeout(30.0, read=None),
        ) as response:
            if response.status_code != 200:
                raise SignalError(f"signal-cli events: HTTP {response.status_code}")
            log.info("bridge: connected to signal-cli")
            self.on_connected()
            parser = SSEParser()
            async for chunk in response.aiter_raw():
                for event in parser.feed(chunk):
                    if event.event not in (None, "receive"):
                        continue
                    try:
                        message = incoming_of(event.json(), self.settings.account)
                    except ValueError:
                        log.warning("bridge: signal-cli sent an event that is not JSON")
                        continue
                    if message is not None:
                        await deliver(message)
        raise SignalError("signal-cli closed the event stream")

    async def aclose(self) -> None:
        await self._client.aclose()
