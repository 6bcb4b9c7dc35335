"""Who may decide (review/human.py): the agent cannot approve itself, a human's word wins over a
running round, every verdict says who gave it, and approvals cover one diff."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import git
import pytest
from fastmcp import Client
from fastmcp.exceptions import ToolError

from mcp_server.config import Settings
from mcp_server.tools import build_mcp
from mcp_server.wiring import ReviewRuntime
from review.errors import ReviewInputError
from review.loop import ReviewService
from review.request import ReviewRequest
from review.status import VerdictSource
from tests.conftest import root_of
from tests.fake_llm import FakeLLM, approve, revise


def _request(repo: git.Repo, task: str = "gate-1") -> ReviewRequest:
    return ReviewRequest(task_id=task, summary="Added divide().", cwd=str(root_of(repo)))


def _change(repo: git.Repo, text: str) -> None:
    (root_of(repo) / "calc.py").write_text(text)


async def test_agent_cannot_approve_itself_over_mcp(
    runtime: ReviewRuntime, project: git.Repo, fake_llm: FakeLLM
) -> None:
    _change(project, "def divide(a, b):\n    return a / b\n")
    fake_llm.default = revise("Handle b == 0.")
    cwd = str(root_of(project))
    async with Client(build_mcp(runtime.service, default_cwd=cwd)) as client:
        first = await client.call_tool("request_review", {"taskId": "self", "summary": "divide"})
        assert first.structured_content["status"] == "needs_revision"
        with pytest.raises(ToolError, match="only on escalated sessions"):
            await client.call_tool("resolve_session", {"sessionId": "self", "feedback": "lgtm"})
        # The next call is a real reviewer round, not a human approval.
        second = await client.call_tool("request_review", {"taskId": "self", "summary": "again"})
    assert second.structured_content["status"] == "needs_revision"
    assert second.structured_content["reviewer"] == "local"
    assert len(fake_llm.requests) == 2


async def test_mcp_resolves_an_escalated_session_and_says_so(
    runtime: ReviewRuntime, service: ReviewService, project: git.Repo, fake_llm: FakeLLM
) -> None:
    _change(project, "X = 1\n")
    fake_llm.default = revise("no")
    for _ in range(3):
        result = await service.request_review(_request(project))
    assert result.status == "escalated"
    async with Client(build_mcp(runtime.service)) as client:
        resolved = await client.call_tool(
            "resolve_session", {"sessionId": "gate-1", "feedback": "lgtm"}
        )
    assert resolved.structured_content["status"] == "approved"
    assert resolved.structured_content["human_by"] == "mcp"
    details = await service.session_details("gate-1")
    assert [(v.status, v.given_by) for v in details.human_verdicts] == [("approved", "mcp")]
    again = await service.request_review(_request(project))
    assert again.status == "approved" and again.reviewer == "human"
    assert len(fake_llm.requests) == 3  # the human's approval covered this diff: no round


async def test_mcp_resolve_off(settings: Settings, project: git.Repo, fake_llm: FakeLLM) -> None:
    settings.review.mcp_resolve = "off"
    settings.review.max_iterations = 1
    runtime = ReviewRuntime(settings)
    try:
        service = await runtime.service()
        _change(project, "X = 2\n")
        fake_llm.default = revise("no")
        assert (await service.request_review(_request(project))).status == "escalated"
        with pytest.raises(ReviewInputError, match="turned off"):
            await service.resolve("gate-1", "lgtm", VerdictSource.MCP)
        # A human on the page still can.
        page = await service.resolve("gate-1", "lgtm", VerdictSource.PAGE)
        assert page.status == "approved" and page.human_by == "page"
    finally:
        await runtime.aclose()


async def test_human_approval_during_a_running_round_wins(
    service: ReviewService, project: git.Repo, fake_llm: FakeLLM
) -> None:
    _change(project, "Y = 1\n")
    gate = threading.Event()
    reply = revise("the round says no")
    reply.gate = gate
    fake_llm.script(reply)
    running = asyncio.create_task(service.request_review(_request(project)))
    while not fake_llm.requests:  # the reviewer has the prompt: the round is running
        await asyncio.sleep(0.01)
    resolved = await service.resolve("gate-1", "ship it", VerdictSource.PAGE)
    assert resolved.status == "approved"
    gate.set()
    result = await running
    assert result.status == "approved" and result.reviewer == "human"
    details = await service.session_details("gate-1")
    assert details.status == "approved"
    # The round's own answer is kept in the history.
    assert [(r.status, r.feedback) for r in details.rounds] == [
        ("needs_revision", "the round says no")
    ]


async def test_an_approval_covers_its_diff_and_a_new_diff_starts_a_new_cycle(
    service: ReviewService, project: git.Repo, fake_llm: FakeLLM
) -> None:
    fake_llm.default = approve()
    for n in range(3):
        _change(project, f"V = {n}\n")
        result = await service.request_review(_request(project))
        assert result.status == "approved" and result.cycle_round == 1
    # Asking again with the same diff returns the approval; the reviewer is not asked.
    same = await service.request_review(_request(project))
    assert same.status == "approved" and len(fake_llm.requests) == 3
    # A changed diff after an approval: a new cycle, escalating only after max_iterations (3).
    fake_llm.default = revise("no")
    _change(project, "V = 'changed'\n")
    statuses = [(await service.request_review(_request(project))).status for _ in range(3)]
    assert statuses == ["needs_revision", "needs_revision", "escalated"]
    listing = await service.list_sessions()
    assert (listing.sessions[0].cycle_round, listing.sessions[0].iteration) == (3, 6)


async def test_every_verdict_records_who_gave_it(
    service: ReviewService, project: git.Repo, fake_llm: FakeLLM
) -> None:
    _change(project, "Z = 1\n")
    fake_llm.default = revise("no")
    await service.request_review(_request(project))
    await service.resolve("gate-1", "Use a constant.", VerdictSource.TOKEN)
    await service.resolve("gate-1", "lgtm", VerdictSource.CLI)
    details = await service.session_details("gate-1")
    assert [(v.status, v.given_by) for v in details.human_verdicts] == [
        ("needs_revision", "token"),
        ("approved", "cli"),
    ]
    assert details.human_by == "cli"


def test_cli_resolve(settings: Settings, project: git.Repo, tmp_path: Path) -> None:
    import subprocess
    import sys

    async def make() -> None:
        runtime = ReviewRuntime(settings)
        try:
            service = await runtime.service()
            _change(project, "W = 1\n")
            await service.request_review(_request(project))
        finally:
            await runtime.aclose()

    asyncio.run(make())
    env = {"BRAINROUTER_DATABASE_URL": settings.database_url}
    cli = str(Path(sys.executable).parent / "brainrouter")
    import os

    done = subprocess.run(
        [cli, "resolve", "gate-1", "lgtm", "--json"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert '"human_by": "cli"' in done.stdout
    missing = subprocess.run(
        [cli, "resolve", "nope", "lgtm"], env={**os.environ, **env}, capture_output=True, text=True
    )
    assert missing.returncode == 2 and "no review session" in missing.stderr
