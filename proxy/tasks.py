"""The route each task was given, so that its continuations (a tool result going back to the
model that asked for it) stay on that route: a tool loop split between a cloud and a local
model shows each a conversation half written by another model. Keyed by the conversation
(proxy/routing.py `conversation_key`, a subagent apart from its parent); bounded in count and
age; an injected clock keeps the test pure."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

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
        self.ttl_s = ttl_s
        self.size = size
        self._clock = clock
        self._routes: OrderedDict[str, TaskRoute] = OrderedDict()

    def remember(self, key: str | None, route: Route, reason: str) -> None:
        """A task's route, now; while the route stays the same, the first reason is kept."""
        if key is None:
            return
        known = self._routes.get(key)
        if known is not None and known.route == route:
            reason = known.reason
        self._routes[key] = TaskRoute(route, self._clock(), reason)
        self._routes.move_to_end(key)
        while len(self._routes) > self.size:
            self._routes.popitem(last=False)

    def of(self, key: str | None) -> tuple[TaskRoute, float] | None:
        """The task's route and the seconds since its last request; None when unknown or
        idle past the time limit."""
        if key is None or (known := self._routes.get(key)) is None:
            return None
        age = self._clock() - known.seen_at
        if age > self.ttl_s:
            del self._routes[key]
            return None
        return known, age
