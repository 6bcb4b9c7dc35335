"""The route each task was given, so that its continuations (a tool result going back to the
model that asked for it) stay on that route: a tool loop split between a cloud and a local
model shows each a conversation half written by another model. Keyed by the conversation
(proxy/routing.py `conversation_key`, a subagent apart from its parent); bounded in count and
age (cachetools' TTLCache); an injected clock keeps the test pure."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from cachetools import TTLCache

Route = Literal["cloud", "local"]


@dataclass(frozen=True)
class TaskRoute:
    route: Route
    seen_at: float
    reason: str  # why the task's first request on this route went there


class TaskRoutes:
    def __init__(
        self,
        ttl_s: float = 3600.0,
        size: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        # least recently used out first when full; gone `ttl_s` after its task's last request
        self._routes: TTLCache[str, TaskRoute] = TTLCache(maxsize=size, ttl=ttl_s, timer=clock)

    def remember(self, key: str | None, route: Route, reason: str) -> None:
        """A task's route, now; while the route stays the same, the first reason is kept."""
        if key is None:
            return
        known = self._routes.get(key)
        if known is not None and known.route == route:
            reason = known.reason
        self._routes[key] = TaskRoute(route, self._clock(), reason)

    def of(self, key: str | None) -> tuple[TaskRoute, float] | None:
        """The task's route and the seconds since its last request; None when unknown or
        idle past the time limit."""
        if key is None or (known := self._routes.get(key)) is None:
            return None
        return known, self._clock() - known.seen_at
