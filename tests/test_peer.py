"""Only the daemon's owner uses it: the peer uid of loopback connections (mcp_server/peer.py),
attacked by a process of another local user against the real daemon."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mcp_server import peer
from tests.daemon import Daemon
from tests.fake_llm import FakeLLM

NOBODY = 65534
needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("curl") is None or not peer.supported(),
    reason="acting as another user needs root, curl and Linux's /proc/net/tcp",
)


@pytest.mark.parametrize("lookup", ["sock_diag", "proc_table"])
@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6])
def test_peer_uid_of_a_loopback_connection(
    family: int, lookup: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not peer.supported():
        pytest.skip("no /proc/net/tcp here")
    if lookup == "proc_table":

        def no_netlink(*_args: object) -> None:
            raise PermissionError("netlink forbidden here")

        monkeypatch.setattr(peer, "_diag_uid", no_netlink)
    host = "127.0.0.1" if family == socket.AF_INET else "::1"
    with socket.socket(family) as listener:
        try:
            listener.bind((host, 0))
        except OSError:
            pytest.skip(f"no {host} on this machine")
        listener.listen()
        with socket.create_connection(listener.getsockname()[:2]) as client:
            accepted, _ = listener.accept()
            with accepted:
                assert peer.peer_uid(accepted) == os.getuid()
                assert peer.is_loopback_peer(accepted)
            assert client.fileno() > 0


def test_peer_uid_of_a_unix_socket() -> None:
    left, right = socket.socketpair()
    with left, right:
        assert peer.peer_uid(left) == os.getuid()


@pytest.fixture
def owned_daemon(tmp_path: Path, fake_llm: FakeLLM) -> Iterator[Daemon]:
    tmp_path.chmod(0o755)
    env = {
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'peer.db'}",
        "BRAINROUTER_PROXY__CLOUD__BASE_URL": fake_llm.base_url,
        "BRAINROUTER_PROXY__CLOUD__MODEL": "big",
        "BRAINROUTER_PROXY__MODEL__ENABLED": "false",
    }
    d = Daemon(env, tmp_path / "peer.log").start()
    yield d
    d.stop()


def _as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", *args],
        user=NOBODY,
        group=NOBODY,
        capture_output=True,
        text=True,
        timeout=30,
        cwd="/",
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
    )


@needs_root
def test_another_local_user_is_refused(owned_daemon: Daemon, fake_llm: FakeLLM) -> None:
    body = '{"model": "cloud", "messages": [{"role": "user", "content": "free tokens"}]}'
    spend = _as_nobody(
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "-d",
        body,
        f"{owned_daemon.url}/v1/chat/completions",
    )
    assert spend.stdout.endswith("403"), spend
    assert "only its owner" in spend.stdout
    for path in ("/review/api/sessions", "/api/review-config", "/"):
        assert _as_nobody(f"{owned_daemon.url}{path}").stdout.endswith("403")
    assert fake_llm.requests == []
    # The owner (this process) is served as before.
    ok = httpx.post(
        f"{owned_daemon.url}/v1/chat/completions",
        json={"model": "cloud", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert ok.status_code == 200 and len(fake_llm.requests) == 1
    assert "refused a connection from uid 65534" in owned_daemon.log()


@needs_root
def test_an_allowed_user_reviews_only_what_they_may_read(tmp_path: Path, fake_llm: FakeLLM) -> None:
    import shutil
    import tempfile

    from tests.conftest import make_repo

    base = Path(tempfile.mkdtemp(dir="/tmp"))
    base.chmod(0o755)
    try:
        shared = make_repo(base / "shared", {"a.py": "A = 1\n"})
        private_dir = base / "private"
        private = make_repo(private_dir, {"b.py": "B = 1\n"})
        private_dir.chmod(0o700)
        (Path(str(shared.working_tree_dir)) / "a.py").write_text("A = 2\n")
        (Path(str(private.working_tree_dir)) / "b.py").write_text("B = 'owner only'\n")
        tmp_path.chmod(0o755)
        env = {
            "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}",
            "BRAINROUTER_REVIEW__MODE": "local",
            "BRAINROUTER_REVIEW__LOCAL__BASE_URL": fake_llm.base_url,
            "BRAINROUTER_SERVER__ALLOWED_UIDS": f"[{os.getuid()}, {NOBODY}]",
            "BRAINROUTER_PROXY__MODEL__ENABLED": "false",
        }
        daemon = Daemon(env, tmp_path / "shared.log").start()
        try:

            def ask(cwd: str, task: str) -> subprocess.CompletedProcess[str]:
                body = f'{{"taskId": "{task}", "summary": "s", "cwd": "{cwd}"}}'
                return _as_nobody(
                    "-X",
                    "POST",
                    "-H",
                    "content-type: application/json",
                    "-d",
                    body,
                    f"{daemon.url}/review/api/request",
                )

            refused = ask(str(private_dir), "theirs")
            assert refused.stdout.endswith("422"), refused
            assert "not readable by the user who asked" in refused.stdout
            assert fake_llm.requests == []  # nothing of the private project was sent
            allowed = ask(str(base / "shared"), "mine")
            assert allowed.stdout.endswith("200"), allowed
            assert "A = 2" in fake_llm.prompts()[-1]
            # The same over MCP (streamable HTTP), as a harness of that user would call it.
            over_mcp = _mcp_call_as_nobody(
                daemon.url,
                "request_review",
                {"taskId": "theirs-mcp", "summary": "s", "cwd": str(private_dir)},
            )
            assert "not readable by the user who asked" in over_mcp, over_mcp
            assert len(fake_llm.requests) == 1
        finally:
            daemon.stop()
    finally:
        shutil.rmtree(base)


def _mcp_call_as_nobody(url: str, tool: str, arguments: dict[str, object]) -> str:
    """initialize, initialized, tools/call over MCP's streamable HTTP, with curl as nobody."""
    import json

    headers = [
        "-H",
        "content-type: application/json",
        "-H",
        "accept: application/json, text/event-stream",
    ]

    def post(
        message: dict[str, object], session: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        extra = ["-H", f"mcp-session-id: {session}"] if session else []
        return _as_nobody(
            "-D", "-", "-X", "POST", *headers, *extra, "-d", json.dumps(message), f"{url}/mcp"
        )

    init = post(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "curl", "version": "1"},
            },
        }
    )
    session = next(
        line.split(":", 1)[1].strip()
        for line in init.stdout.splitlines()
        if line.lower().startswith("mcp-session-id:")
    )
    post({"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
    call = post(
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": tool, "arguments": arguments},
        },
        session,
    )
    return call.stdout
