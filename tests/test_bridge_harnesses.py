"""The bridge with the real Claude Code, Codex and opencode CLIs (npm, installed by scripts/test) as its
agent: a Signal message runs the CLI through the daemon's proxy to a fake model, with
brainrouter's MCP server on, and the next message resumes the same conversation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.daemon import Daemon
from tests.fake_llm import FakeLLM, Reply
from tests.fake_signal import FakeSignal
from tests.test_bridge import ME, _ask
from tests.test_harness_e2e import _cli


@pytest.fixture
def signal_cli() -> Iterator[FakeSignal]:
    fake = FakeSignal().start()
    yield fake
    fake.stop()


def test_a_signal_message_drives_claude_code_and_the_next_one_resumes_it(
    tmp_path: Path, signal_cli: FakeSignal
) -> None:
    claude = _cli("claude")
    cloud = FakeLLM().start()
    asked: list[int] = []

    def model(body: dict[str, Any]) -> Reply:
        asked.append(1)
        return Reply(f"answer {len(asked)} from the cloud model")

    cloud.responder = model
    root = tmp_path / "work"
    root.mkdir()
    env = {
        "PATH": "/usr/bin:/bin",
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}",
        "BRAINROUTER_PROXY__MODEL__ENABLED": "false",
        "BRAINROUTER_PROXY__CLOUD__BASE_URL": cloud.base_url,
        "BRAINROUTER_PROXY__CLOUD__PROTOCOL": "anthropic",
        "BRAINROUTER_PROXY__CLOUD__MODEL": "claude-sonnet-5",
        "BRAINROUTER_BRIDGE__AGENT_PATH": claude,
        "BRAINROUTER_BRIDGE__ROOT": str(root),
        "BRAINROUTER_BRIDGE__SIGNAL__ENABLED": "true",
        "BRAINROUTER_BRIDGE__SIGNAL__URL": signal_cli.url,
        "BRAINROUTER_BRIDGE__SIGNAL__ALLOWED_NUMBERS": json.dumps([ME]),
        "DISABLE_TELEMETRY": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    daemon = Daemon(env, tmp_path / "d.log").start()
    try:
        signal_cli.wait_for(lambda: signal_cli.listening() == 1)
        assert _ask(signal_cli, "!br cloud") == "route: cloud"
        first = _ask(signal_cli, "Name one prime number.")
        assert first.startswith("answer "), first
        asked_first = len(cloud.requests)
        second = _ask(signal_cli, "And one more?")
        assert second.startswith("answer "), second
        # resumed: Claude Code sent the first exchange along with the new question
        sent = json.dumps(cloud.requests[-1]["messages"])
        assert "Name one prime number." in sent and "And one more?" in sent
        assert len(cloud.requests) > asked_first
        tools = [t.get("name") for r in cloud.requests for t in r.get("tools", [])]
        assert "mcp__brainrouter__request_review" in tools  # brainrouter's MCP server is on
    finally:
        daemon.stop()
        cloud.stop()


def test_codex_as_the_agent_resumes_its_thread(tmp_path: Path, signal_cli: FakeSignal) -> None:
    codex = _cli("codex")
    local = FakeLLM().start()
    local.responder = lambda body: Reply(f"codex answer {len(local.requests)}")
    root = tmp_path / "work"
    root.mkdir()
    env = {
        "PATH": "/usr/bin:/bin",
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}",
        "BRAINROUTER_PROXY__MODEL__ENABLED": "false",
        "BRAINROUTER_PROXY__LOCAL__BASE_URL": local.base_url,
        "BRAINROUTER_PROXY__LOCAL__MODEL": "qwen-coder",
        "BRAINROUTER_BRIDGE__AGENT": "codex",
        "BRAINROUTER_BRIDGE__AGENT_PATH": codex,
        "BRAINROUTER_BRIDGE__ROOT": str(root),
        "BRAINROUTER_BRIDGE__DEFAULT_ROUTE": "local",
        "BRAINROUTER_BRIDGE__SIGNAL__ENABLED": "true",
        "BRAINROUTER_BRIDGE__SIGNAL__URL": signal_cli.url,
        "BRAINROUTER_BRIDGE__SIGNAL__ALLOWED_NUMBERS": json.dumps([ME]),
    }
    daemon = Daemon(env, tmp_path / "d.log").start()
    try:
        signal_cli.wait_for(lambda: signal_cli.listening() == 1)
        assert _ask(signal_cli, "!br status").startswith("route: local ·")  # bridge.default_route
        assert _ask(signal_cli, "Name one prime number.").startswith("codex answer ")
        assert _ask(signal_cli, "And one more?").startswith("codex answer ")
        sent = json.dumps(local.requests[-1]["messages"])
        assert "Name one prime number." in sent and "And one more?" in sent  # the thread resumed
        tools = json.dumps(local.requests[-1].get("tools", []))
        assert "request_review" in tools  # brainrouter's MCP server, from -c overrides alone
    finally:
        daemon.stop()
        local.stop()


def test_opencode_as_the_agent_resumes_its_session(tmp_path: Path, signal_cli: FakeSignal) -> None:
    opencode = _cli("opencode")
    local = FakeLLM().start()
    local.responder = lambda body: Reply(f"opencode answer {len(local.requests)}")
    root = tmp_path / "work"
    root.mkdir()
    env = {
        "PATH": "/usr/bin:/bin",
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}",
        "BRAINROUTER_PROXY__MODEL__ENABLED": "false",
        "BRAINROUTER_PROXY__LOCAL__BASE_URL": local.base_url,
        "BRAINROUTER_PROXY__LOCAL__MODEL": "qwen-coder",
        "BRAINROUTER_BRIDGE__AGENT": "opencode",
        "BRAINROUTER_BRIDGE__AGENT_PATH": opencode,
        "BRAINROUTER_BRIDGE__ROOT": str(root),
        "BRAINROUTER_BRIDGE__DEFAULT_ROUTE": "local",
        "BRAINROUTER_BRIDGE__SIGNAL__ENABLED": "true",
        "BRAINROUTER_BRIDGE__SIGNAL__URL": signal_cli.url,
        "BRAINROUTER_BRIDGE__SIGNAL__ALLOWED_NUMBERS": json.dumps([ME]),
    }
    daemon = Daemon(env, tmp_path / "d.log").start()
    try:
        signal_cli.wait_for(lambda: signal_cli.listening() == 1)
        assert _ask(signal_cli, "Name one prime number.").startswith("opencode answer ")
        assert _ask(signal_cli, "And one more?").startswith("opencode answer ")
        sent = json.dumps(local.requests[-1]["messages"])
        assert "Name one prime number." in sent and "And one more?" in sent  # the session resumed
    finally:
        daemon.stop()
        local.stop()
