"""One call to one upstream, from the moment it is tried to the moment nothing of it is left:
it is counted in flight, gives the upstream's breaker at most one verdict, and is released
exactly once, whoever ends it (the request handler, the stream, or the response when a client
leaves before its stream ever started). Nothing else touches the in-flight counts or the
breaker's probe slot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, Awaitable, Callable, MutableMapping
from typing import Any, Literal

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from proxy.breaker import CircuitBreaker

log = logging.getLogger("brainrouter.proxy")

Verdict = Literal["ok", "failed", "none"]


Refusal = Literal["breaker_open", "saturated"]


class Lease:
    @classmethod
    async def take(
        cls,
        name: str,
        breaker: CircuitBreaker,
        in_flight: MutableMapping[str, int],
        slots: asyncio.Semaphore,
        wait_s: float,
    ) -> Lease | Refusal:
        """A lease on one call, or why there is none: the breaker refuses (it may take its
        half-open probe slot here), or no connection slot frees up within `wait_s` (the pool
        is the proxy's limit, not the upstream's: the breaker hears nothing of it)."""
        if not breaker.allow():
            return "breaker_open"
        if slots.locked():
            try:
                await asyncio.wait_for(slots.acquire(), wait_s)
            except TimeoutError:
                breaker.release()
                return "saturated"
            except BaseException:
                breaker.release()
                raise
        else:
            await slots.acquire()  # free: no waiting, no timer
        return cls(name, breaker, in_flight, slots)

    def __init__(
        self,
        name: str,
        breaker: CircuitBreaker,
        in_flight: MutableMapping[str, int],
        slots: asyncio.Semaphore | None = None,
    ) -> None:
        self.name = name
        self._breaker = breaker
        self._slots = slots  # an admitted connection slot, given back on close
        self._in_flight = in_flight
        self._in_flight[name] += 1
        self.verdict: Verdict = "none"
        self.closed = False

    def succeeded(self) -> None:
        """The upstream answered well (or refused the request itself: a 4xx is not its fault)."""
        if self.verdict == "none":
            self.verdict = "ok"
            self._breaker.record_success()

    def failed(self, why: str) -> None:
        """The upstream failed: the breaker counts it."""
        if self.verdict == "none":
            self.verdict = "failed"
            was = self._breaker.state
            self._breaker.record_failure(why)
            if self._breaker.state == "open" and was != "open":
                log.warning(
                    "%s circuit breaker opened for %gs: %s",
                    self.name,
                    self._breaker.cooldown_s,
                    why,
                )

    def close(self) -> None:
        """The call is over. With no verdict (the client left, the proxy gave up), the breaker
        hears nothing but its half-open probe slot is freed."""
        if self.closed:
            return
        self.closed = True
        self._in_flight[self.name] -= 1
        if self._slots is not None:
            self._slots.release()
        if self.verdict == "none":
            self._breaker.release()


class LeasedStream(StreamingResponse):
    """A streamed answer that owns its lease: when the client leaves before the stream ever
    started (its generator's own cleanup then never runs), the lease is closed here."""

    def __init__(
        self,
        content: AsyncIterable[bytes],
        *,
        lease: Lease,
        on_abandoned: Callable[[], Awaitable[None]],
        **kwargs: Any,
    ) -> None:
        super().__init__(content, **kwargs)
        self._lease = lease
        self._on_abandoned = on_abandoned

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if not self._lease.closed:
                self._lease.close()
                await self._on_abandoned()
