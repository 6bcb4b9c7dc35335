"""Reviews travel through the proxy (mcp_server/review_route.py): the proxy's upstreams, keys,
breakers, fallback and routing events, labelled as review traffic; one place configures them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import git
import httpx
import pytest

from tests.conftest import root_of
from tests.daemon import Daemon
from tests.fake_llm import FakeLLM, Reply, revise

KEY = "sk-review-route-test-key"


@pytest.fixture
def cloud() -> Iterator[FakeLLM]:
    llm = FakeLLM().start()
    yield llm
    llm.stop()


def _env(tmp_path: Path, cloud: FakeLLM, local: FakeLLM | None, mode: str) -> dict[str, str]:
    env = {
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
        "BRAINROUTER_REVIEW__MODE": mode,
        "BRAINROUTER_REVIEW__PROGRESS_INTERVAL_S": "0.1",
        "BRAINROUTER_PROXY__MODEL__ENABLED": "false",
        "BRAINROUTER_PROXY__CLOUD__BASE_URL": cloud.base_url,
        "BRAINROUTER_PROXY__CLOUD__MODEL": "frontier-model",
        "BRAINROUTER_CLOUD_API_KEY": KEY,
    }
    if local is not None:
        env["BRAINROUTER_PROXY__LOCAL__BASE_URL"] = local.base_url
        env["BRAINROUTER_PROXY__LOCAL__MODEL"] = "local-coder"
    return env


def _review(d: Daemon, repo: git.Repo, task: str) -> dict[str, object]:
    response = httpx.post(
        f"{d.url}/review/api/request",
        json={"taskId": task, "summary": "Added a parser.", "cwd": str(root_of(repo))},
        timeout=60,
    )
    response.raise_for_status()
    return dict(response.json())


def _review_events(d: Daemon) -> list[dict[str, object]]:
    events = httpx.get(f"{d.url}/api/routing-events").json()["events"]
    return [e for e in events if e["harness"] == "review"]


def test_a_review_goes_through_the_proxys_cloud_with_its_key(
    tmp_path: Path, project: git.Repo, cloud: FakeLLM
) -> None:
    d = Daemon(_env(tmp_path, cloud, None, "cloud"), tmp_path / "d.log").start()
    try:
        cloud.script(revise("Handle the empty input."))
        result = _review(d, project, "route-1")
        assert result["status"] == "needs_revision" and result["reviewer"] == "cloud"
        assert cloud.headers[-1]["authorization"] == f"Bearer {KEY}"
        assert cloud.requests[-1]["model"] == "frontier-model"
        (event,) = _review_events(d)
        assert event["upstream"] == "cloud" and event["status"] == "ok"
        assert event["project_dir"] == str(root_of(project))
    finally:
        d.stop()
    assert KEY not in d.log()


def test_a_failing_cloud_falls_back_to_the_local_reviewer(
    tmp_path: Path, project: git.Repo, cloud: FakeLLM, fake_llm: FakeLLM
) -> None:
    d = Daemon(_env(tmp_path, cloud, fake_llm, "cloud"), tmp_path / "d.log").start()
    try:
        cloud.default = Reply(status=503)
        result = _review(d, project, "route-2")
        assert result["status"] == "approved"  # fake_llm approves by default
        assert result["reviewer"] == "local"
        assert fake_llm.requests[-1]["model"] == "local-coder"
        (event,) = _review_events(d)
        assert event["upstream"] == "local" and event["fallback"]
        # the lean prompt of the local route never replaces the review's own instructions
        assert "Added a parser." in fake_llm.prompts()[-1]
        assert fake_llm.requests[-1]["messages"][0]["role"] == "user"
    finally:
        d.stop()


def test_nothing_usable_says_what_to_configure(tmp_path: Path, project: git.Repo) -> None:
    env = {
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
        "BRAINROUTER_PROXY__MODEL__ENABLED": "false",
    }
    d = Daemon(env, tmp_path / "d.log").start()
    try:
        result = _review(d, project, "route-3")
        assert result["status"] == "escalated"
        reason = str(result["feedback"]) + str(result["next_step"])
        assert "proxy.cloud.base_url" in reason and "proxy.local.base_url" in reason
        page = httpx.get(f"{d.url}/review/session/{result['session_id']}").text
        assert "proxy.cloud.base_url" in page
    finally:
        d.stop()
    assert "request_review will escalate every round to a human" in d.log()
