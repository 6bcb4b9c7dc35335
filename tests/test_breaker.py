from proxy.breaker import CircuitBreaker
from tests.clock import Clock


def test_opens_after_consecutive_failures_and_probes_once_after_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, cooldown_s=60, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure("boom")
    assert breaker.state == "closed"
    assert breaker.allow()
    breaker.record_failure("boom")
    assert breaker.state == "open" and not breaker.allow()
    assert breaker.retry_in_s() == 60

    clock.now += 59.9
    assert not breaker.allow()
    clock.now += 0.2
    assert breaker.allow()  # the one half-open probe
    assert breaker.state == "half_open"
    assert not breaker.allow()  # nobody else while it is out
    breaker.record_success()
    assert breaker.state == "closed" and breaker.consecutive_failures == 0


def test_a_failed_probe_reopens_for_a_full_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, cooldown_s=10, clock=clock)
    breaker.record_failure("x")
    clock.now += 10
    assert breaker.allow()
    breaker.record_failure("still down")
    assert breaker.state == "open" and breaker.last_error == "still down"
    clock.now += 9
    assert not breaker.allow()


def test_success_resets_the_count_and_release_frees_the_probe() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, cooldown_s=5, clock=clock)
    breaker.record_failure("a")
    breaker.record_failure("b")
    breaker.record_success()
    breaker.record_failure("c")
    assert breaker.state == "closed"
    for _ in range(3):
        breaker.record_failure("d")
    clock.now += 5
    assert breaker.allow()
    breaker.release()  # the client went away mid-probe: neither verdict
    assert breaker.allow()
