"""Rounds of a process that died (kill -9) are interrupted at once, not after the time limit."""

from __future__ import annotations

import subprocess
import sys
import time

import git
from sqlmodel import select

from mcp_server.config import Settings
from mcp_server.wiring import ReviewRuntime
from review import owner
from review.models import ReviewRound
from review.request import ReviewRequest
from tests.conftest import root_of
from tests.fake_llm import FakeLLM, Reply

_WORKER = """
import asyncio, sys
from mcp_server.config import Settings
from mcp_server.wiring import ReviewRuntime
from review.request import ReviewRequest
from review.settings import ReviewSettings

async def main(db, llm, cwd):
    review = ReviewSettings.model_validate({"mode": "local", "local": {"base_url": llm}})
    runtime = ReviewRuntime(Settings(database_url=db, review=review))
    service = await runtime.service()
    await service.request_review(ReviewRequest(task_id="killed", summary="work", cwd=cwd))

asyncio.run(main(*sys.argv[1:4]))
"""


def _kill_a_worker_mid_round(settings: Settings, fake_llm: FakeLLM, cwd: str) -> None:
    """Another process starts a round for task `killed`, and is killed -9 while it runs."""
    fake_llm.script(Reply(hang=True))
    worker = subprocess.Popen(
        [sys.executable, "-c", _WORKER, settings.database_url, fake_llm.base_url, cwd]
    )
    deadline = time.monotonic() + 60
    while not fake_llm.requests:  # the round is running in the worker
        assert worker.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    worker.kill()
    worker.wait()


def test_owner_liveness() -> None:
    me = owner.current()
    assert not owner.is_gone(me)
    assert owner.Owner.parse(str(me)) == me
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert owner.is_gone(owner.Owner(me.boot_id, dead.pid, "1"))
    # Same pid, another start time: the pid was reused by another process.
    assert owner.is_gone(owner.Owner(me.boot_id, me.pid, "0"))
    # Another machine (or boot): cannot be known from here, so never "gone".
    assert not owner.is_gone(owner.Owner("another-boot", dead.pid, "1"))
    assert owner.Owner.parse("garbage") is None and owner.Owner.parse(None) is None


async def test_a_killed_round_is_interrupted_and_the_agent_continues_at_once(
    settings: Settings, project: git.Repo, fake_llm: FakeLLM
) -> None:
    cwd = str(root_of(project))
    (root_of(project) / "k.py").write_text("K = 1\n")
    _kill_a_worker_mid_round(settings, fake_llm, cwd)

    runtime = ReviewRuntime(settings)  # a restart: stranded rounds are found at start
    try:
        service = await runtime.service()
        with service.store.transaction() as db:
            rounds = db.exec(select(ReviewRound)).all()
        assert [(r.status, r.error) for r in rounds] == [
            ("interrupted", "the process running this round died")
        ]
        started = time.monotonic()
        result = await service.request_review(
            ReviewRequest(task_id="killed", summary="work again", cwd=cwd)
        )
        assert result.status == "approved" and result.iteration == 2
        assert time.monotonic() - started < settings.review.round_timeout_s
    finally:
        await runtime.aclose()


async def test_a_killed_round_does_not_block_a_running_service(
    settings: Settings, project: git.Repo, fake_llm: FakeLLM
) -> None:
    runtime = ReviewRuntime(settings)
    try:
        service = await runtime.service()  # started before the worker dies
        cwd = str(root_of(project))
        (root_of(project) / "k.py").write_text("K = 2\n")
        _kill_a_worker_mid_round(settings, fake_llm, cwd)
        result = await service.request_review(
            ReviewRequest(task_id="killed", summary="continue", cwd=cwd)
        )
        assert result.status == "approved"
        details = await service.session_details("killed")
        assert [r.status for r in details.rounds] == ["interrupted", "approved"]
    finally:
        await runtime.aclose()
