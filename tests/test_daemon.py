"""The daemon as a user runs it: a real `brainrouter serve` process driven over HTTP and MCP."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import git
import httpx
import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport
from fastmcp.exceptions import ToolError

from tests.conftest import free_port, root_of
from tests.daemon import BRAINROUTER, Daemon, wait_healthy
from tests.fake_llm import FakeLLM, Reply, revise


def _env(tmp_path: Path, llm: FakeLLM, db_name: str = "daemon.db") -> dict[str, str]:
    return {
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / db_name}",
        "BRAINROUTER_REVIEW__MODE": "local",
        "BRAINROUTER_REVIEW__MAX_ITERATIONS": "2",
        "BRAINROUTER_REVIEW__LOCAL__BASE_URL": llm.base_url,
        "BRAINROUTER_REVIEW__LOCAL__MODEL": "daemon-reviewer",
        "BRAINROUTER_REVIEW__PROGRESS_INTERVAL_S": "0.1",
    }


@pytest.fixture
def daemon(tmp_path: Path, fake_llm: FakeLLM) -> Iterator[Daemon]:
    d = Daemon(_env(tmp_path, fake_llm), tmp_path / "daemon.log").start()
    yield d
    d.stop()


def _sessions(d: Daemon) -> list[dict[str, object]]:
    response = httpx.get(f"{d.url}/review/api/sessions")
    response.raise_for_status()
    return list(response.json()["sessions"])


async def test_mcp_over_http(daemon: Daemon, project: git.Repo, fake_llm: FakeLLM) -> None:
    (root_of(project) / "f.py").write_text("F = 1\n")
    progress: list[str] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    async with Client(f"{daemon.url}/mcp") as client:
        result = await client.call_tool(
            "request_review",
            {"taskId": "http-1", "summary": "F flag.", "cwd": str(root_of(project))},
            progress_handler=on_progress,
        )
    assert result.structured_content["status"] == "approved"
    assert result.structured_content["review_url"].startswith("http://127.0.0.1:")
    assert progress
    assert [s["task_id"] for s in _sessions(daemon)] == ["http-1"]
    assert "+F = 1" in fake_llm.prompts()[-1]


async def test_stdio_relays_to_the_daemon(
    daemon: Daemon, tmp_path: Path, project: git.Repo, fake_llm: FakeLLM
) -> None:
    # The stdio process is given a different database: the session landing in the daemon's
    # proves the call was relayed.
    env = {
        **os.environ,
        **_env(tmp_path, fake_llm, "stdio-only.db"),
        "BRAINROUTER_SERVER__PORT": str(daemon.port),
    }
    transport = StdioTransport(
        BRAINROUTER, ["mcp", "--no-autostart"], env=env, cwd=str(root_of(project)), keep_alive=False
    )
    progress: list[str] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    async with Client(transport) as client:
        result = await client.call_tool(
            "request_review",
            {"taskId": "relay-1", "summary": "Relayed."},
            progress_handler=on_progress,
        )
        listing = await client.call_tool("get_session_list", {})
        # Each error keeps its kind across the relay (daemon → relay → harness).
        with pytest.raises(ToolError, match=r"^not_found: no review session"):
            await client.call_tool("get_session_details", {"sessionId": "missing"})
        with pytest.raises(ToolError, match=r"^invalid: resolve_session acts only on escalated"):
            await client.call_tool("resolve_session", {"sessionId": "relay-1", "feedback": "lgtm"})
    assert result.structured_content["status"] == "approved"
    assert result.structured_content["model"] == "daemon-reviewer"
    assert progress, "progress notifications are relayed"
    assert [s["task_id"] for s in listing.structured_content["sessions"]] == ["relay-1"]
    assert [s["task_id"] for s in _sessions(daemon)] == ["relay-1"]
    # The agent gave no cwd: the relay sent the directory the harness started it in.
    assert _sessions(daemon)[0]["project_dir"] == str(root_of(project))


async def test_stdio_autostarts_the_daemon(
    tmp_path: Path, project: git.Repo, fake_llm: FakeLLM
) -> None:
    port = free_port()
    env = {
        **os.environ,
        **_env(tmp_path, fake_llm),
        "BRAINROUTER_SERVER__PORT": str(port),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    transport = StdioTransport(
        BRAINROUTER, ["mcp"], env=env, cwd=str(root_of(project)), keep_alive=False
    )
    url = f"http://127.0.0.1:{port}"
    pid = None
    try:
        async with Client(transport) as client:
            result = await client.call_tool(
                "request_review", {"taskId": "auto-1", "summary": "Cold start."}
            )
        assert result.structured_content["status"] == "approved"
        pid = wait_healthy(url, timeout=5)
        sessions = httpx.get(f"{url}/review/api/sessions").json()["sessions"]
        assert [s["task_id"] for s in sessions] == ["auto-1"]
    finally:
        if pid is None:
            try:
                pid = wait_healthy(url, timeout=1)
            except TimeoutError:
                pid = None
        if pid is not None:
            os.kill(pid, signal.SIGTERM)


async def test_human_resolve_through_the_form_reaches_the_agent(
    daemon: Daemon, project: git.Repo, fake_llm: FakeLLM
) -> None:
    cwd = str(root_of(project))
    fake_llm.script(Reply(status=500, raw_body="down"))
    async with Client(f"{daemon.url}/mcp") as client:
        first = await client.call_tool(
            "request_review", {"taskId": "h-1", "summary": "s", "cwd": cwd}
        )
        assert first.structured_content["status"] == "escalated"
        sid = first.structured_content["session_id"]

        async with httpx.AsyncClient(base_url=daemon.url) as web:
            page = await web.get(f"/review/session/{sid}")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token is not None
            posted = await web.post(
                f"/review/session/{sid}/resolve",
                data={
                    "feedback": "Rename divide() to safe_divide().",
                    "csrf_token": token.group(1),
                },
                headers={"Origin": daemon.url},
            )
            assert posted.status_code == 303
            after = await web.get(posted.headers["location"])
            assert "needs_revision" in after.text
            assert "Rename divide() to safe_divide()." in after.text

        second = await client.call_tool(
            "request_review", {"taskId": "h-1", "summary": "Renamed.", "cwd": cwd}
        )
    assert second.structured_content["status"] == "approved"
    assert "Rename divide() to safe_divide()." in fake_llm.prompts()[-1]


def test_forged_requests_are_refused(daemon: Daemon) -> None:
    with httpx.Client(base_url=daemon.url) as web:
        assert web.get("/health", headers={"Host": "attacker.example:9099"}).status_code == 403
        no_token = web.post("/review/session/x/resolve", data={"feedback": "lgtm"})
        assert no_token.status_code == 403
        bad_token = web.post(
            "/review/session/x/resolve", data={"feedback": "lgtm", "csrf_token": "guess"}
        )
        assert bad_token.status_code == 403
        cross = web.post(
            "/review/api/lgtm",
            json={"sessionId": "x"},
            headers={"Origin": "https://attacker.example"},
        )
        assert cross.status_code == 403
        site = web.post(
            "/review/api/lgtm", json={"sessionId": "x"}, headers={"Sec-Fetch-Site": "cross-site"}
        )
        assert site.status_code == 403
        # A page on another port of the same host is another origin (scheme, host and port).
        other_port = web.post(
            "/review/api/lgtm",
            json={"sessionId": "x"},
            headers={"Origin": f"http://127.0.0.1:{daemon.port + 1}"},
        )
        assert other_port.status_code == 403
        same_site = web.post(
            "/review/api/lgtm", json={"sessionId": "x"}, headers={"Sec-Fetch-Site": "same-site"}
        )
        assert same_site.status_code == 403
        # From the daemon's own origin, a human verdict over the API still needs the admin token.
        own = web.post("/review/api/lgtm", json={"sessionId": "x"}, headers={"Origin": daemon.url})
        assert own.status_code == 401 and "admin token" in own.text
        with_token = web.post(
            "/review/api/lgtm",
            json={"sessionId": "x"},
            headers={"Origin": daemon.url, "x-brainrouter-token": daemon.admin_token()},
        )
        assert with_token.status_code == 404


def test_untrusted_text_is_rendered_inert(
    daemon: Daemon, project: git.Repo, fake_llm: FakeLLM
) -> None:
    fake_llm.script(
        revise(
            "<img src=x onerror=alert(2)>",
            [{"file": "<b>x</b>", "message": "<script>alert(3)</script>"}],
        )
    )
    response = httpx.post(
        f"{daemon.url}/review/api/request",
        json={
            "taskId": "<script>alert(0)</script>",
            "summary": "<script>alert(1)</script>",
            "cwd": str(root_of(project)),
        },
    )
    assert response.status_code == 200, response.text
    sid = response.json()["session_id"]
    page = httpx.get(f"{daemon.url}/review/session/{sid}").text
    listing = httpx.get(f"{daemon.url}/review/").text
    for html in (page, listing):
        assert "<script>alert" not in html
        assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page


def test_review_http_api(daemon: Daemon, project: git.Repo, fake_llm: FakeLLM) -> None:
    cwd = str(root_of(project))
    api = f"{daemon.url}/review/api"
    fake_llm.script(revise("fix it"))
    first = httpx.post(
        f"{api}/request", json={"taskId": "api-1", "summary": "s", "cwd": cwd}
    ).json()
    assert first["status"] == "needs_revision"
    cont = httpx.post(
        f"{api}/continue", json={"sessionId": first["session_id"], "summary": "fixed"}
    ).json()
    assert cont["status"] == "approved" and cont["iteration"] == 2
    details = httpx.get(f"{api}/sessions/api-1").json()
    assert [r["status"] for r in details["rounds"]] == ["needs_revision", "approved"]
    admin = {"x-brainrouter-token": daemon.admin_token()}
    resolved = httpx.post(
        f"{api}/resolve", json={"sessionId": "api-1", "feedback": "please add docs"}, headers=admin
    ).json()
    assert resolved["status"] == "needs_revision" and resolved["human_by"] == "token"
    assert httpx.post(f"{api}/lgtm", json={"sessionId": "api-1"}).status_code == 401
    lgtm = httpx.post(f"{api}/lgtm", json={"sessionId": "api-1"}, headers=admin).json()
    assert lgtm["status"] == "approved"
    assert httpx.get(f"{api}/sessions", params={"status": "approved"}).json()["total"] == 1
    assert httpx.get(f"{api}/sessions", params={"status": "bogus"}).status_code == 422
    assert httpx.post(f"{api}/request", json={"taskId": "x"}).status_code == 422
    bad_cwd = httpx.post(f"{api}/request", json={"taskId": "x", "summary": "s", "cwd": "/nowhere"})
    assert bad_cwd.status_code == 422 and "cwd" in bad_cwd.json()["detail"]
    assert httpx.get(f"{api}/sessions/missing").status_code == 404


async def test_sigterm_answers_rounds_in_flight_with_a_retryable_error(
    daemon: Daemon, project: git.Repo, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Reply(hang=True), Reply(hang=True))
    cwd = str(root_of(project))

    async def over_mcp() -> str:
        async with Client(f"{daemon.url}/mcp") as client:
            try:
                await client.call_tool(
                    "request_review", {"taskId": "term-1", "summary": "s", "cwd": cwd}
                )
            except ToolError as exc:
                return str(exc)
        return "no error"

    async def over_http() -> httpx.Response:
        async with httpx.AsyncClient(timeout=60) as web:
            return await web.post(
                f"{daemon.url}/review/api/request",
                json={"taskId": "term-2", "summary": "s", "cwd": cwd},
            )

    mcp_call = asyncio.create_task(over_mcp())
    http_call = asyncio.create_task(over_http())
    deadline = asyncio.get_running_loop().time() + 30
    while len(fake_llm.requests) < 2:  # poll until both rounds are running
        assert asyncio.get_running_loop().time() < deadline, "the rounds never started"
        await asyncio.sleep(0.05)
    assert daemon.proc is not None
    daemon.proc.send_signal(signal.SIGTERM)
    message, response = await asyncio.wait_for(asyncio.gather(mcp_call, http_call), 30)
    await asyncio.to_thread(daemon.proc.wait, 30)
    assert message.startswith("unavailable: the brainrouter daemon is stopping"), message
    assert "same taskId" in message
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert "stopping" in response.json()["detail"]

    from sqlmodel import select

    from review.models import ReviewRound
    from review.store import Store

    store = Store(daemon.env["BRAINROUTER_DATABASE_URL"])
    try:
        with store.transaction() as db:
            rounds = db.exec(select(ReviewRound)).all()
    finally:
        store.close()
    assert sorted((r.status, r.error) for r in rounds) == [("interrupted", "interrupted")] * 2


def test_review_config_is_validated_and_survives_a_restart(
    tmp_path: Path, fake_llm: FakeLLM
) -> None:
    d = Daemon(_env(tmp_path, fake_llm), tmp_path / "cfg.log").start()
    try:
        url = f"{d.url}/api/review-config"
        assert httpx.get(url).json() == {
            "mode": "local",
            "local_model": None,
            "available_reviewers": ["local"],
        }
        bad = httpx.post(url, json={"mode": "sometimes"})
        assert bad.status_code == 422 and "mode" in bad.text
        assert httpx.post(url, data={"mode": "cloud"}).status_code == 403  # form posts are not JSON
        assert (
            httpx.post(
                url, json={"mode": "cloud"}, headers={"Origin": "http://evil.example"}
            ).status_code
            == 403
        )
        saved = httpx.post(url, json={"mode": "local", "localModel": "qwen-coder"}).json()
        assert saved["local_model"] == "qwen-coder"
        assert httpx.post(url, json={"mode": "cloud"}).json()["mode"] == "cloud"
    finally:
        d.stop()
    again = Daemon(_env(tmp_path, fake_llm), tmp_path / "cfg2.log").start()
    try:
        assert httpx.get(f"{again.url}/api/review-config").json()["mode"] == "cloud"
    finally:
        again.stop()
