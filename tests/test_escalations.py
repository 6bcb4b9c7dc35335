"""proxy/escalations.py: which projects the review loop moved to the cloud, and where `auto`
last sent each project's requests (pure: an injected clock)."""

from __future__ import annotations

from proxy.escalations import Escalations
from tests.clock import Clock


def test_an_escalation_covers_the_project_and_folders_inside_it() -> None:
    esc = Escalations(ttl_s=60, clock=Clock())
    esc.escalate("/home/me/app", "rejected twice")
    assert esc.reason_for("/home/me/app") == "rejected twice"
    assert esc.reason_for("/home/me/app/src/lib") == "rejected twice"
    assert esc.reason_for("/home/me/application") is None  # a sibling, not inside
    assert esc.reason_for(None) is None
    esc.clear("/home/me/app")
    assert esc.reason_for("/home/me/app/src") is None


def test_an_escalation_ends_after_its_ttl_and_news_keeps_it() -> None:
    clock = Clock()
    esc = Escalations(ttl_s=60, clock=clock)
    esc.escalate("/p", "why")
    clock.now += 50
    esc.escalate("/p", "why")  # a new round of the task: in force for another 60 s
    clock.now += 50
    assert esc.reason_for("/p") == "why"
    clock.now += 11
    assert esc.reason_for("/p") is None and esc.active() == {}


def test_where_auto_sent_a_project_last() -> None:
    esc = Escalations(ttl_s=60)
    assert esc.agent_route("/p") is None
    esc.saw("/p/sub", "local")
    assert esc.agent_route("/p") == "local"  # the agent worked in a folder of the repository
    esc.saw("/p", "cloud")
    assert esc.agent_route("/p") == "cloud"  # the most recent wins
    assert esc.agent_route("/other") is None


def test_memory_is_bounded() -> None:
    esc = Escalations(ttl_s=60)
    for i in range(5000):
        esc.saw(f"/p{i}", "local")
        esc.escalate(f"/p{i}", "x")
    assert esc.agent_route("/p0") is None and esc.agent_route("/p4999") == "local"
    assert len(esc.active()) <= 1024
