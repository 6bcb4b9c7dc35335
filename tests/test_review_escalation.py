"""Review-driven escalation, a whole task through the daemon: `auto` sends the agent local, the
reviewer rejects the local work twice, the rest of the task (the agent's requests and the
reviews) goes to the cloud, and the task's approval ends it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import git
import httpx
import openai
import pytest

from tests.conftest import root_of
from tests.daemon import Daemon
from tests.fake_llm import FakeLLM, revise


@pytest.fixture
def cloud() -> Iterator[FakeLLM]:
    llm = FakeLLM().start()
    yield llm
    llm.stop()


@pytest.fixture
def daemon(tmp_path: Path, fake_llm: FakeLLM, cloud: FakeLLM) -> Iterator[Daemon]:
    env = {
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}",
        "BRAINROUTER_PROXY__MODEL__ENABLED": "false",
        "BRAINROUTER_PROXY__CLOUD__BASE_URL": cloud.base_url,
        "BRAINROUTER_PROXY__CLOUD__MODEL": "frontier-model",
        "BRAINROUTER_CLOUD_API_KEY": "sk-test",
        "BRAINROUTER_PROXY__LOCAL__BASE_URL": fake_llm.base_url,
        "BRAINROUTER_PROXY__LOCAL__MODEL": "local-coder",
        # every task looks easy to the router: `auto` keeps it local until the review says no
        "BRAINROUTER_PROXY__CLASSIFIER__THRESHOLD": "1.0",
        "BRAINROUTER_REVIEW__PROGRESS_INTERVAL_S": "0.1",
    }
    d = Daemon(env, tmp_path / "d.log").start()
    yield d
    d.stop()


def _agent_turn(d: Daemon, repo: Path, text: str) -> tuple[str, str]:
    """One request as Claude Code sends it (its system prompt names the working directory):
    (the route it took, why)."""
    client = openai.OpenAI(base_url=f"{d.url}/v1", api_key="unused", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="auto",
        messages=[
            {
                "role": "system",
                "content": f"You are a coding agent.\nPrimary working directory: {repo}",
            },
            {"role": "user", "content": text},
        ],
    )
    event = httpx.get(f"{d.url}/api/routing-events", params={"limit": 1}).json()["events"][0]
    return raw.headers["x-brainrouter-route"], str(event["reason"])


def _review(d: Daemon, repo: Path, summary: str) -> dict[str, object]:
    (repo / "calc.py").write_text(f"def add(a, b):\n    return a + b  # {summary}\n")
    response = httpx.post(
        f"{d.url}/review/api/request",
        json={"taskId": "parser-task", "summary": summary, "cwd": str(repo)},
        timeout=60,
    )
    response.raise_for_status()
    return dict(response.json())


def test_rejected_local_work_moves_the_rest_of_the_task_to_the_cloud(
    daemon: Daemon, project: git.Repo, fake_llm: FakeLLM, cloud: FakeLLM
) -> None:
    repo = root_of(project)
    assert _agent_turn(daemon, repo, "Add a parser for the config file.")[0] == "local"

    fake_llm.script(revise("The parser crashes on empty input."))
    first = _review(daemon, repo, "Added a parser.")
    assert first["status"] == "needs_revision" and first["reviewer"] == "local"
    assert first["route_escalation"] is None  # once is a slip
    assert _agent_turn(daemon, repo, "Fix the empty input case.")[0] == "local"

    fake_llm.script(revise("Still crashes; the tokenizer is wrong."))
    second = _review(daemon, repo, "Handled empty input.")
    assert second["status"] == "needs_revision" and second["reviewer"] == "local"
    assert "rejected the local work 2 times in a row" in str(second["route_escalation"])

    route, reason = _agent_turn(daemon, repo, "Rewrite the tokenizer.")
    assert route == "cloud" and "escalated: review of task parser-task" in reason
    assert cloud.requests[-1]["model"] == "frontier-model"

    local_requests = len(fake_llm.requests)
    third = _review(daemon, repo, "Rewrote the tokenizer.")  # the cloud approves by default
    assert third["status"] == "approved" and third["reviewer"] == "cloud"
    assert len(fake_llm.requests) == local_requests  # the review did not go local

    page = httpx.get(f"{daemon.url}/review/session/parser-task").text
    assert "Moved to the cloud route for the rest of this task" in page
    # the task is done: the next one in this project starts local again
    assert _agent_turn(daemon, repo, "Now add a README section.")[0] == "local"


def test_a_finding_beyond_the_local_model_escalates_at_once(
    daemon: Daemon, project: git.Repo, fake_llm: FakeLLM
) -> None:
    repo = root_of(project)
    assert _agent_turn(daemon, repo, "Port the scheduler to lock-free queues.")[0] == "local"
    fake_llm.script(
        revise(
            "Not salvageable.",
            [
                {
                    "message": "beyond the model that wrote it: the memory ordering is wrong throughout"
                }
            ],
        )
    )
    result = _review(daemon, repo, "Ported the scheduler.")
    assert "beyond the local model" in str(result["route_escalation"])
    assert _agent_turn(daemon, repo, "Try again.")[0] == "cloud"


def test_work_done_in_the_cloud_is_not_escalated(
    daemon: Daemon, project: git.Repo, fake_llm: FakeLLM, cloud: FakeLLM
) -> None:
    # Rejections of work the cloud did say nothing about what a local model can do.
    repo = root_of(project)
    client = openai.OpenAI(base_url=f"{daemon.url}/v1", api_key="unused", max_retries=0)
    client.chat.completions.create(
        model="cloud",
        messages=[
            {"role": "system", "content": f"Primary working directory: {repo}"},
            {"role": "user", "content": "Add a parser."},
        ],
    )
    httpx.post(f"{daemon.url}/api/review-config", json={"mode": "cloud"}).raise_for_status()
    cloud.script(revise("no"), revise("still no"))
    _review(daemon, repo, "one")
    result = _review(daemon, repo, "two")
    assert result["reviewer"] == "cloud" and result["route_escalation"] is None


def test_an_escalation_survives_a_restart(
    daemon: Daemon, project: git.Repo, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    repo = root_of(project)
    _agent_turn(daemon, repo, "Add a parser.")
    fake_llm.script(revise("no"), revise("still no"))
    _review(daemon, repo, "one")
    assert _review(daemon, repo, "two")["route_escalation"]
    daemon.stop()
    again = Daemon(dict(daemon.env), tmp_path / "again.log").start()
    try:
        route, reason = _agent_turn(again, repo, "Try once more.")
        assert route == "cloud" and "rejected the local work 2 times" in reason
    finally:
        again.stop()
