"""The MCP tools through a real MCP client: in memory, and over stdio as a harness spawns it."""

import os
import sys
from pathlib import Path

import git
import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport
from fastmcp.exceptions import ToolError

from mcp_server.tools import build_mcp
from mcp_server.wiring import ReviewRuntime
from review.store import Store
from tests.conftest import free_port
from tests.fake_llm import FakeLLM, revise


def _brainrouter() -> str:
    return str(Path(sys.executable).parent / "brainrouter")


async def test_tools_are_listed_with_typed_parameters(runtime: ReviewRuntime) -> None:
    async with Client(build_mcp(runtime.service)) as client:
        tools = {t.name: t for t in await client.list_tools()}
    assert set(tools) == {
        "request_review",
        "get_session_list",
        "get_session_details",
        "resolve_session",
    }
    review = tools["request_review"]
    assert set(review.input_schema["required"]) == {"taskId", "summary"}
    assert review.input_schema["properties"]["conversationHistory"]["anyOf"][0]["type"] == "array"
    assert "same taskId" in (review.description or "")
    assert "status" in review.output_schema["properties"]


async def test_review_loop_over_mcp(
    runtime: ReviewRuntime, project: git.Repo, fake_llm: FakeLLM
) -> None:
    cwd = str(project.working_tree_dir)
    Path(cwd, "calc.py").write_text("def divide(a, b):\n    return a / b\n")
    fake_llm.script(revise("Handle b == 0.", [{"file": "calc.py", "line": 2, "message": "zero"}]))
    progress: list[str] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    async with Client(build_mcp(runtime.service, default_cwd=cwd)) as client:
        first = await client.call_tool(
            "request_review",
            {
                "taskId": "feat-1",
                "summary": "Added divide.",
                "conversationHistory": ["user: add divide"],
            },
            progress_handler=on_progress,
        )
        assert first.structured_content["status"] == "needs_revision"
        assert first.structured_content["findings"][0]["file"] == "calc.py"
        assert first.structured_content["max_iterations"] == 3
        assert any("waiting for the local reviewer" in m for m in progress)

        second = await client.call_tool(
            "request_review", {"taskId": "feat-1", "summary": "Fixed.", "cwd": cwd}
        )
        assert second.structured_content["status"] == "approved"
        assert second.structured_content["iteration"] == 2

        listing = await client.call_tool("get_session_list", {})
        assert [s["task_id"] for s in listing.structured_content["sessions"]] == ["feat-1"]
        details = await client.call_tool("get_session_details", {"sessionId": "feat-1"})
        assert [r["status"] for r in details.structured_content["rounds"]] == [
            "needs_revision",
            "approved",
        ]
        assert "user: add divide" in fake_llm.prompts()[0]


async def test_tool_errors_are_clear(runtime: ReviewRuntime, tmp_path: Path) -> None:
    async with Client(build_mcp(runtime.service)) as client:
        with pytest.raises(ToolError, match="not inside a git work tree"):
            await client.call_tool(
                "request_review", {"taskId": "t", "summary": "s", "cwd": str(tmp_path)}
            )
        with pytest.raises(ToolError, match="cwd is required"):
            await client.call_tool("request_review", {"taskId": "t", "summary": "s"})
        with pytest.raises(ToolError, match="no review session"):
            await client.call_tool("get_session_details", {"sessionId": "missing"})
        with pytest.raises(ToolError, match="must not be empty"):
            await client.call_tool("resolve_session", {"sessionId": "missing", "feedback": " "})
        with pytest.raises(ToolError):
            await client.call_tool("get_session_list", {"status": "bogus"})


async def test_resolve_session_tool(
    runtime: ReviewRuntime, project: git.Repo, fake_llm: FakeLLM
) -> None:
    cwd = str(project.working_tree_dir)
    fake_llm.default = revise("nope")
    async with Client(build_mcp(runtime.service, default_cwd=cwd)) as client:
        for _ in range(3):
            result = await client.call_tool("request_review", {"taskId": "t", "summary": "s"})
        assert result.structured_content["status"] == "escalated"
        resolved = await client.call_tool(
            "resolve_session", {"sessionId": "t", "feedback": "ship it"}
        )
        assert resolved.structured_content["status"] == "approved"
        after = await client.call_tool("request_review", {"taskId": "t", "summary": "s"})
        assert after.structured_content["status"] == "approved"
        assert after.structured_content["reviewer"] == "human"


async def test_stdio_server_as_a_harness_spawns_it(
    tmp_path: Path, project: git.Repo, fake_llm: FakeLLM
) -> None:
    db = tmp_path / "stdio.db"
    env = {
        **os.environ,
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{db}",
        "BRAINROUTER_REVIEW__MODE": "local",
        "BRAINROUTER_REVIEW__LOCAL__BASE_URL": fake_llm.base_url,
        "BRAINROUTER_REVIEW__LOCAL__MODEL": "stdio-reviewer",
    }
    cwd = str(project.working_tree_dir)
    Path(cwd, "feature.py").write_text("FEATURE = True\n")
    # --no-autostart and a port nobody listens on: the tools run in this stdio process.
    env["BRAINROUTER_SERVER__PORT"] = str(free_port())
    transport = StdioTransport(
        _brainrouter(), ["mcp", "--no-autostart"], env=env, cwd=cwd, keep_alive=False
    )
    async with Client(transport) as client:
        assert {t.name for t in await client.list_tools()} >= {"request_review"}
        # No cwd argument: the stdio server reviews the directory the harness started it in.
        result = await client.call_tool(
            "request_review", {"taskId": "stdio-1", "summary": "Feature flag."}
        )
    assert result.structured_content["status"] == "approved"
    assert "+FEATURE = True" in fake_llm.prompts()[-1]
    assert fake_llm.requests[-1]["model"] == "stdio-reviewer"

    store = Store(f"sqlite:///{db}")  # the round is in the database the daemon would share
    try:
        from sqlmodel import select

        from review.models import ReviewRound

        with store.transaction() as s:
            rounds = s.exec(select(ReviewRound)).all()
        assert [(r.status, r.model) for r in rounds] == [("approved", "stdio-reviewer")]
    finally:
        store.close()


def test_stdio_refuses_a_bad_config(tmp_path: Path) -> None:
    import subprocess

    bad = tmp_path / "bad.yaml"
    bad.write_text("review:\n  max_iterations: lots\n")
    proc = subprocess.run(
        [_brainrouter(), "mcp", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2
    assert "review.max_iterations" in proc.stderr


async def test_long_reviews_fit_what_harnesses_accept(
    runtime: ReviewRuntime, project: git.Repo, fake_llm: FakeLLM
) -> None:
    """Claude Code cuts MCP output past 25,000 tokens: results stay whole JSON, well under."""
    import json

    cwd = str(project.working_tree_dir)
    Path(cwd, "calc.py").write_text("def f():\n    return 1\n")
    findings = [{"file": "calc.py", "line": i, "message": "x" * 3000} for i in range(400)]
    fake_llm.script(revise("long " * 60_000, findings))
    async with Client(build_mcp(runtime.service, default_cwd=cwd)) as client:
        result = await client.call_tool("request_review", {"taskId": "big", "summary": "s"})
        details = await client.call_tool("get_session_details", {"sessionId": "big"})
    for payload in (result.structured_content, details.structured_content):
        text = json.dumps(payload)
        assert len(text) < 25_000 * 3  # ~3.5 characters a token, with room to spare
    content = result.structured_content
    assert content["feedback"].endswith(f"more characters at {content['review_url']}]")
    assert "400" not in content["findings"][-1]["message"]
    assert "370 more findings" in content["findings"][-1]["message"]
    # The page keeps everything.
    service = await runtime.service()
    full = await service.session_details("big")
    assert len(full.rounds[0].findings) == 400 and len(full.rounds[0].feedback or "") > 200_000
