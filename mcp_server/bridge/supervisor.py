"""Keeps a chat platform connected: a connection that ends or fails is retried with
exponential backoff (the daemon never goes down with it), and its state is kept for the
dashboard and `brainrouter doctor`. Errors are shown by kind and message, with the platform's
secrets taken out."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("brainrouter.bridge")


@dataclass
class ConnectionState:
    platform: str
    state: str = "starting"  # starting | connected | reconnecting | retrying | stopped
    since: float = field(default_factory=time.time)
    last_error: str | None = None
    retries: int = 0
    retry_in_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "state": self.state,
            "since": self.since,
            "last_error": self.last_error,
            "retries": self.retries,
            "retry_in_s": self.retry_in_s,
        }


class Supervisor:
    def __init__(
        self,
        platform: str,
        serve: Callable[[], Awaitable[None]],
        secrets: Callable[[], list[str]] = list,
        first_delay_s: float = 1.0,
        max_delay_s: float = 300.0,
        stable_after_s: float = 60.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.status = ConnectionState(platform)
        self._serve = serve
        self._secrets = secrets
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self.stable_after_s = stable_after_s
        self._sleep = sleep

    def connected(self) -> None:
        """The transport says it is connected (its handshake went through)."""
        self._set("connected")
        self.status.last_error = None

    def disconnected(self) -> None:
        """The transport lost its connection and is getting it back by itself."""
        self._set("reconnecting")

    def _set(self, state: str) -> None:
        self.status.state, self.status.since = state, time.time()

    def _scrub(self, text: str) -> str:
        for secret in self._secrets():
            if secret:
                text = text.replace(secret, "[hidden]")
        return text[:300]

    async def run(self) -> None:
        delay = self.first_delay_s
        while True:
            started = time.monotonic()
            try:
                await self._serve()
                why = "the connection ended"
            except asyncio.CancelledError:
                self._set("stopped")
                raise
            except Exception as exc:
                why = self._scrub(f"{type(exc).__name__}: {exc}")
            if time.monotonic() - started > self.stable_after_s:
                delay = self.first_delay_s  # it held for a while: start the backoff over
            self.status.last_error = why
            self.status.retries += 1
            wait = min(delay, self.max_delay_s) * random.uniform(0.8, 1.2)
            self.status.retry_in_s = round(wait, 1)
            self._set("retrying")
            log.warning("bridge: %s: %s; retrying in %.1f s", self.status.platform, why, wait)
            await self._sleep(wait)
            self.status.retry_in_s = None
            delay = min(delay * 2, self.max_delay_s)
