"""`brainrouter mcp`'s front (mcp_server/stdio_front.py): `initialize` and `tools/list` from a
snapshot that matches the real server, everything else through the full server, and the
daemon started as soon as the harness spawns it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from mcp_server import snapshot
from mcp_server.stdio_front import SNAPSHOT
from tests.conftest import free_port
from tests.daemon import BRAINROUTER, wait_healthy


async def test_the_snapshot_is_what_the_server_answers() -> None:
    live = await snapshot.live()
    assert live == json.loads(SNAPSHOT.read_text()), (
        "mcp_server/mcp_snapshot.json is stale: run python -m mcp_server.snapshot"
    )
    assert live["initialize"]["serverInfo"] == {
        "name": "brainrouter",
        "version": version("brainrouter"),
    }


class Stdio:
    """A harness's view: JSON-RPC lines to and from `brainrouter mcp`."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [BRAINROUTER, "mcp", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, **env},
            cwd=cwd,
        )

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def receive(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while True:
            message = json.loads(self.proc.stdout.readline())
            if "id" in message:  # skip notifications (logging)
                return dict(message)

    def request(self, request_id: int, method: str, params: dict[str, Any] | None = None) -> Any:
        self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}})
        reply = self.receive()
        assert reply["id"] == request_id, reply
        return reply

    def close(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(30)


def _initialize(version_asked: str) -> dict[str, Any]:
    return {
        "protocolVersion": version_asked,
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    }


def test_a_whole_session_through_the_front(tmp_path: Path) -> None:
    env = {
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}",
        "BRAINROUTER_SERVER__PORT": str(free_port()),  # no daemon there: review in-process
    }
    stdio = Stdio(["--no-autostart"], env, tmp_path)
    try:
        init = stdio.request(1, "initialize", _initialize("2025-06-18"))["result"]
        assert init["protocolVersion"] == "2025-06-18"
        assert init["serverInfo"]["version"] == version("brainrouter")
        stdio.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        tools = stdio.request(2, "tools/list")["result"]["tools"]
        assert {t["name"] for t in tools} >= {"request_review", "get_session_list"}
        # a tool call goes through the full server (and whatever the front answered before
        # it was up, the full server agrees)
        listed = stdio.request(
            3, "tools/call", {"name": "get_session_list", "arguments": {"limit": 5}}
        )["result"]
        assert listed["structuredContent"]["total"] == 0 and not listed.get("isError")
        again = stdio.request(4, "tools/list")["result"]["tools"]
        assert [t["name"] for t in again] == [t["name"] for t in tools]
        missing = stdio.request(5, "tools/call", {"name": "no_such_tool", "arguments": {}})
        assert "error" in missing or missing["result"].get("isError")
    finally:
        assert stdio.close() == 0


@pytest.mark.parametrize(
    ("asked", "answered"), [("2024-11-05", "2024-11-05"), ("1999-01-01", None)]
)
def test_the_protocol_version_is_negotiated(
    tmp_path: Path, asked: str, answered: str | None
) -> None:
    env = {"BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}"}
    stdio = Stdio(["--no-autostart"], env, tmp_path)
    try:
        result = stdio.request(1, "initialize", _initialize(asked))["result"]
        latest = json.loads(SNAPSHOT.read_text())["latest_handshake"]
        assert result["protocolVersion"] == (answered or latest)
    finally:
        stdio.close()


def test_the_daemon_starts_when_the_harness_spawns_the_server(tmp_path: Path) -> None:
    # Codex and Claude Code ask the daemon (their model provider) before any tool call: it
    # must be up without one.
    port = free_port()
    env = {
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}",
        "BRAINROUTER_SERVER__PORT": str(port),
        "BRAINROUTER_PROXY__MODEL__ENABLED": "false",
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    stdio = Stdio([], env, tmp_path)
    pid = None
    try:
        stdio.request(1, "initialize", _initialize("2025-06-18"))
        pid = wait_healthy(f"http://127.0.0.1:{port}", timeout=60)
    finally:
        stdio.close()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
