"""TaskRoutes: a task's route is kept for its continuations, for a while, for so many tasks."""

from __future__ import annotations

from proxy.tasks import TaskRoutes
from tests.clock import Clock


def test_a_task_keeps_its_route_until_it_expires() -> None:
    clock = Clock()
    routes = TaskRoutes(ttl_s=60, clock=clock)
    routes.remember("session:a", "cloud", "long request")
    clock.now += 59
    known = routes.of("session:a")
    assert known is not None and known[0].route == "cloud" and known[1] == 59
    clock.now += 2
    assert routes.of("session:a") is None
    assert routes.of(None) is None and routes.of("never") is None


def test_the_least_recently_decided_task_goes_first_when_full() -> None:
    routes = TaskRoutes(size=2, clock=Clock())
    routes.remember("a", "cloud", "")
    routes.remember("b", "local", "")
    routes.remember("a", "local", "decided again")  # a is the newest now
    routes.remember("c", "cloud", "")
    assert routes.of("b") is None
    known_a = routes.of("a")
    assert known_a is not None and known_a[0].route == "local"
    routes.remember(None, "cloud", "no key: nothing kept")
    assert routes.of("c") is not None


def test_the_first_reason_stays_while_the_route_does() -> None:
    routes = TaskRoutes(clock=Clock())
    routes.remember("a", "cloud", "long request")
    routes.remember("a", "cloud", "continues its task's cloud route")
    known = routes.of("a")
    assert known is not None and known[0].reason == "long request"
    routes.remember("a", "local", "escalation ended")
    known = routes.of("a")
    assert known is not None and known[0].reason == "escalation ended"
