"""The real Claude Code and Codex CLIs (npm, installed by scripts/test into .harness-cli/) drive
a real daemon to fake upstreams, once routed cloud and once routed local, each with a tool
round trip; routed local, the request still carries the project's environment and the MCP
tools. Skipped, saying why, where the CLIs are not installed."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git
import pytest

from tests.conftest import root_of
from tests.daemon import BRAINROUTER, Daemon
from tests.fake_llm import FakeLLM, Reply

CLI_DIR = Path(__file__).resolve().parents[1] / ".harness-cli" / "node_modules" / ".bin"


def _cli(name: str) -> str:
    path = CLI_DIR / name
    if not path.exists():
        pytest.skip(f"{name} CLI not installed in {CLI_DIR} (scripts/test installs it)")
    return str(path)


@pytest.fixture
def upstreams() -> Iterator[tuple[FakeLLM, FakeLLM]]:
    cloud, local = FakeLLM().start(), FakeLLM().start()
    yield cloud, local
    cloud.stop()
    local.stop()


@pytest.fixture
def daemon(
    tmp_path: Path, upstreams: tuple[FakeLLM, FakeLLM], project: git.Repo
) -> Iterator[Daemon]:
    cloud, local = upstreams
    env = {
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'e2e.db'}",
        "BRAINROUTER_PROXY__CLOUD__BASE_URL": cloud.base_url,
        "BRAINROUTER_PROXY__CLOUD__PROTOCOL": "anthropic",
        "BRAINROUTER_PROXY__CLOUD__MODEL": "claude-sonnet-5",
        "BRAINROUTER_PROXY__LOCAL__BASE_URL": local.base_url,
        "BRAINROUTER_PROXY__LOCAL__MODEL": "qwen-coder",
        "BRAINROUTER_PROXY__MODEL__ENABLED": "false",
    }
    d = Daemon(env, tmp_path / "e2e.log").start()
    yield d
    d.stop()


def _ask(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a harness CLI non-interactively in the project, as a user would; it must succeed."""
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _sent_text(request: dict[str, Any]) -> str:
    """What an upstream request says, system prompt and messages (any format)."""
    return json.dumps(request.get("system")) + json.dumps(request["messages"])


def _tool_names(request: dict[str, Any]) -> list[str]:
    return [
        t.get("name") or t.get("function", {}).get("name", "") for t in request.get("tools", [])
    ]


@pytest.mark.parametrize("route", ["cloud", "local"])
def test_claude_code_through_the_proxy(
    daemon: Daemon, upstreams: tuple[FakeLLM, FakeLLM], project: git.Repo, route: str
) -> None:
    claude = _cli("claude")
    cloud, local = upstreams
    upstream = cloud if route == "cloud" else local
    other = local if route == "cloud" else cloud
    root = root_of(project)
    env = {
        **daemon.env,
        "PATH": "/usr/bin:/bin",  # no `claude` on PATH for install: it writes the file
        "ANTHROPIC_BASE_URL": daemon.url,
        "ANTHROPIC_API_KEY": "sk-ant-e2e-test",
        "DISABLE_TELEMETRY": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    subprocess.run([BRAINROUTER, "install", "claude", "--yes"], env=env, check=True, timeout=60)
    # A second MCP server, slow to connect: the first turn is offered WaitForMcpServers, so
    # the task takes two tool round trips (Claude Code keeps its transcript by tool ids).
    settings = Path(env["HOME"]) / ".claude.json"
    config = json.loads(settings.read_text())
    slow = Path(__file__).with_name("slow_mcp.py")
    config["mcpServers"]["slow"] = {"type": "stdio", "command": sys.executable, "args": [str(slow)]}
    settings.write_text(json.dumps(config))

    waited: list[bool] = []

    def model(body: dict[str, Any]) -> Reply:
        """Waits for MCP servers once (Claude Code's own tool: two tool round trips in one
        turn, as when brainrouter's server is still connecting), reads the file, answers."""
        tools, seen = _tool_names(body), json.dumps(body.get("messages"))
        if not waited and "WaitForMcpServers" in tools:
            waited.append(True)
            return Reply(tool_calls=[("WaitForMcpServers", {})])
        if "return a + b" not in seen:
            return Reply(tool_calls=[("Read", {"file_path": str(root / "calc.py")})])
        return Reply(f"{route}: calc.py adds two numbers")

    upstream.responder = model
    done = _ask([claude, "-p", "--model", route, "What does calc.py do?"], root, env)
    assert f"{route}: calc.py adds two numbers" in done.stdout
    assert other.requests == []
    last = upstream.requests[-1]
    assert "return a + b" in json.dumps(last["messages"])  # the Read tool's result came back
    text = _sent_text(last)
    assert "Primary working directory: " + str(root) in text
    assert "mcp__brainrouter__request_review" in _tool_names(last)
    if route == "local":
        assert upstream.paths[-1] == "/v1/chat/completions"
        assert "You are an interactive agent" not in text  # the lean prompt replaced it


@pytest.mark.parametrize("route", ["cloud", "local"])
def test_codex_through_the_proxy(
    daemon: Daemon, upstreams: tuple[FakeLLM, FakeLLM], project: git.Repo, route: str
) -> None:
    codex = _cli("codex")
    cloud, local = upstreams
    upstream = cloud if route == "cloud" else local
    root = root_of(project)
    env = {**daemon.env, "PATH": "/usr/bin:/bin", "BRAINROUTER_CLOUD_API_KEY": "e2e-key"}
    subprocess.run([BRAINROUTER, "install", "codex", "--yes"], env=env, check=True, timeout=60)

    def model(body: dict[str, Any]) -> Reply:
        """Runs one shell command (a tool round trip), then answers."""
        if "return a + b" not in json.dumps(body.get("messages")):
            return Reply(tool_calls=[("exec_command", {"cmd": "cat calc.py"})])
        return Reply(f"{route}: calc.py adds two numbers")

    upstream.responder = model
    done = _ask(
        [codex, "exec", "--skip-git-repo-check", "-m", route, "What does calc.py do?"], root, env
    )
    assert f"{route}: calc.py adds two numbers" in done.stdout
    last = upstream.requests[-1]
    text = _sent_text(last)
    assert "return a + b" in text, done.stdout[-2000:]  # the command's output came back
    assert f"<cwd>{root}</cwd>" in text and "Every function needs a test" in text  # AGENTS.md
    assert any("request_review" in name for name in _tool_names(last)), _tool_names(last)
