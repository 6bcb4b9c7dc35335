"""Circuit breaker per upstream: closed → open after N consecutive failures → half-open after
the cooldown (exactly one probe goes through) → closed on its success, open again on failure."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    def __init__(
        self,
        failures: int = 3,
        cooldown_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = failures
        self.cooldown_s = cooldown_s
        self._clock = clock
        self.state: BreakerState = "closed"
        self.consecutive_failures = 0
        self.opened_at: float | None = None
        self.last_error: str | None = None
        self._probe_in_flight = False

    def allow(self) -> bool:
        """May a request go to this upstream now? In half-open, only one probe at a time."""
        if self.state == "closed":
            return True
        if self.state == "open":
            assert self.opened_at is not None
            if self._clock() - self.opened_at < self.cooldown_s:
                return False
            self.state = "half_open"
            self._probe_in_flight = False
        if self._probe_in_flight:
            return False
        self._probe_in_flight = True
        return True

    def record_success(self) -> None:
        self.state = "closed"
        self.consecutive_failures = 0
        self.opened_at = None
        self._probe_in_flight = False

    def record_failure(self, error: str) -> None:
        self.last_error = error
        self.consecutive_failures += 1
        if self.state == "half_open" or self.consecutive_failures >= self.threshold:
            self.state = "open"
            self.opened_at = self._clock()
        self._probe_in_flight = False

    def release(self) -> None:
        """A request ended with neither verdict (the client went away): free the probe slot."""
        self._probe_in_flight = False

    def retry_in_s(self) -> float | None:
        if self.state != "open" or self.opened_at is None:
            return None
        return max(0.0, self.cooldown_s - (self._clock() - self.opened_at))
