"""Projects whose agent traffic `auto` sends to the cloud whatever it would decide: the review
loop rejected the work a local model did on their current task (set by the daemon's wiring;
review/escalation.py says when). An escalation lasts until the task's review is approved, or
until `ttl_s` pass with no review news (the agent may never come back).

It also remembers, per project, where `auto` last sent the agent's requests: the review asks
whether the work under review was done locally. Both maps are bounded; time is injected. The
review loop calls in from worker threads, the proxy from the event loop: a lock guards both."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

_MAX_PROJECTS = 1024


@dataclass(frozen=True)
class Escalation:
    reason: str
    at: float


class Escalations:
    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._active: dict[str, Escalation] = {}
        self._last_route: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def saw(self, project_dir: str, route: str) -> None:
        """`auto` sent a request of this project to `route`."""
        with self._lock:
            self._last_route[project_dir] = route
            self._last_route.move_to_end(project_dir)
            while len(self._last_route) > _MAX_PROJECTS:
                self._last_route.popitem(last=False)

    def agent_route(self, project_dir: str) -> str | None:
        """Where `auto` last sent requests from this project (or a folder inside it)."""
        inside = project_dir.rstrip("/") + "/"
        with self._lock:
            for folder in reversed(self._last_route):  # the most recent first
                if folder == project_dir or folder.startswith(inside):
                    return self._last_route[folder]
        return None

    def escalate(self, project_dir: str, reason: str) -> None:
        with self._lock:
            self._active.pop(project_dir, None)
            self._active[project_dir] = Escalation(reason, self._clock())
            while len(self._active) > _MAX_PROJECTS:
                del self._active[next(iter(self._active))]

    def clear(self, project_dir: str) -> None:
        with self._lock:
            self._active.pop(project_dir, None)

    def reason_for(self, project_dir: str | None) -> str | None:
        """Why this project's requests go to the cloud, or None."""
        if project_dir is None or not self._active:
            return None
        with self._lock:
            # The agent may work in a folder inside the repository the review escalated.
            for folder in (project_dir, *map(str, PurePosixPath(project_dir).parents)):
                found = self._active.get(folder)
                if found is None:
                    continue
                if self._clock() - found.at > self.ttl_s:
                    del self._active[folder]
                    return None
                return found.reason
        return None

    def active(self) -> dict[str, str]:
        """Every escalation in force: project → reason (for the dashboard and health)."""
        with self._lock:
            projects = list(self._active)
        return {p: r for p in projects if (r := self.reason_for(p)) is not None}
