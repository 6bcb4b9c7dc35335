"""The bridge with the real Claude Code, Codex and opencode CLIs (npm, installed by scripts/test)
as its agent: a Signal message runs the CLI through the daemon's proxy to a fake model, with
brainrouter's MCP server on, and the next message resumes the same conversation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bridge_fixtures import ME, ask
from tests.daemon import Daemon
from tests.fake_llm import FakeLLM, Reply
from tests.fake_signal import FakeSignal
from tests.test_harness_e2e import _cli


@pytest.fixture
def model() -> Iterator[FakeLLM]:
    """The model behind the proxy; it numbers its answers."""
    fake = FakeLLM().start()
    fake.responder = lambda body: Reply(f"answer {len(fake.requests)} from the model")
    yield fake
    fake.stop()


def _daemon(
    tmp_path: Path, signal_cli: FakeSignal, agent: str, model: FakeLLM, route: str
) -> Daemon:
    """A daemon whose bridge runs `agent` (the real CLI) and whose `route` upstream is `model`
    (Anthropic's format for the cloud, chat completions for the local route)."""
    root = tmp_path / "work"
    root.mkdir()
    upstream = {
        f"BRAINROUTER_PROXY__{route.upper()}__BASE_URL": model.base_url,
        f"BRAINROUTER_PROXY__{route.upper()}__MODEL": "the-model",
    }
    if route == "cloud":
        upstream["BRAINROUTER_PROXY__CLOUD__PROTOCOL"] = "anthropic"
    env = {
        "PATH": "/usr/bin:/bin",
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}",
        "BRAINROUTER_PROXY__MODEL__ENABLED": "false",
        **upstream,
        "BRAINROUTER_BRIDGE__AGENT": agent,
        "BRAINROUTER_BRIDGE__AGENT_PATH": _cli(agent),
        "BRAINROUTER_BRIDGE__ROOT": str(root),
        "BRAINROUTER_BRIDGE__DEFAULT_ROUTE": route,
        "BRAINROUTER_BRIDGE__SIGNAL__ENABLED": "true",
        "BRAINROUTER_BRIDGE__SIGNAL__URL": signal_cli.url,
        "BRAINROUTER_BRIDGE__SIGNAL__ALLOWED_NUMBERS": json.dumps([ME]),
        "DISABLE_TELEMETRY": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    daemon = Daemon(env, tmp_path / "d.log").start()
    signal_cli.wait_for(lambda: signal_cli.listening() == 1)
    return daemon


def _tools(request: dict[str, object]) -> list[str]:
    names = []
    for tool in request.get("tools") or []:  # type: ignore[attr-defined]
        names.append(str(tool.get("name") or tool.get("function", {}).get("name")))
        names += [str(t.get("name")) for t in tool.get("tools", [])]  # Codex's namespaces
    return names


@pytest.mark.parametrize(
    ("agent", "route"), [("claude", "cloud"), ("codex", "local"), ("opencode", "local")]
)
def test_a_signal_message_drives_the_agent_and_the_next_one_resumes_it(
    tmp_path: Path, signal_cli: FakeSignal, model: FakeLLM, agent: str, route: str
) -> None:
    daemon = _daemon(tmp_path, signal_cli, agent, model, route)
    try:
        assert ask(signal_cli, "!br status").startswith(f"route: {route} ·")  # default_route
        assert ask(signal_cli, "Name one prime number.").startswith("answer ")
        assert ask(signal_cli, "And one more?").startswith("answer ")
        last = model.requests[-1]
        sent = json.dumps(last["messages"])
        assert "Name one prime number." in sent and "And one more?" in sent  # resumed
        # brainrouter's MCP server is on (Claude Code: mcp__brainrouter__request_review,
        # Codex: a namespace, opencode: brainrouter_request_review)
        assert any("request_review" in name for name in _tools(last)), _tools(last)
    finally:
        daemon.stop()
