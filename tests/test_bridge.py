"""The chat bridges in the real daemon: a fake signal-cli and a fake Discord (which the real
discord.py connects to) deliver messages; a fake agent CLI stands in for `claude -p`. Every
command, the allowlists, the folder sandbox, one task at a time, reset, restart persistence
and reconnects, as a chat user meets them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.bridge_fixtures import ME, ask
from tests.conftest import make_repo
from tests.daemon import BRAINROUTER, Daemon
from tests.fake_discord import FakeDiscord
from tests.fake_llm import FakeLLM, approve
from tests.fake_signal import FakeSignal

STRANGER = "+15559999999"
DISCORD_ME = "300000000000000001"
CHANNEL = "400000000000000001"
GUILD = "500000000000000001"


def _agent(tmp_path: Path) -> Path:
    """The fake agent as an executable, as `bridge.agent_path` names one."""
    script = tmp_path / "fake-claude"
    agent = Path(__file__).with_name("fake_agent.py")
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{agent}" "$@"\n')
    script.chmod(0o755)
    return script


def _bridge_env(
    tmp_path: Path, signal_cli: FakeSignal, discord: FakeDiscord | None, local: FakeLLM
) -> dict[str, str]:
    root = tmp_path / "work"
    (root / "app").mkdir(parents=True, exist_ok=True)
    (tmp_path / "secret").mkdir(exist_ok=True)
    env = {
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'bridge.db'}",
        "BRAINROUTER_PROXY__MODEL__ENABLED": "false",
        "BRAINROUTER_PROXY__LOCAL__BASE_URL": local.base_url,
        "BRAINROUTER_PROXY__LOCAL__MODEL": "small-model",
        "BRAINROUTER_BRIDGE__AGENT_PATH": str(_agent(tmp_path)),
        "BRAINROUTER_BRIDGE__ROOT": str(root),
        "BRAINROUTER_BRIDGE__SIGNAL__ENABLED": "true",
        "BRAINROUTER_BRIDGE__SIGNAL__URL": signal_cli.url,
        "BRAINROUTER_BRIDGE__SIGNAL__ALLOWED_NUMBERS": json.dumps([ME]),
        "BRAINROUTER_BRIDGE__SIGNAL__CHUNK_CHARS": "1000",
        "FAKE_AGENT_LOG": str(tmp_path / "agent.log"),
        "BRAINROUTER_CLOUD_API_KEY": "sk-the-users-cloud-key",
    }
    if discord is not None:
        env |= {
            "BRAINROUTER_BRIDGE__DISCORD__ENABLED": "true",
            "BRAINROUTER_BRIDGE__DISCORD__API_BASE": discord.api_base,
            "BRAINROUTER_BRIDGE__DISCORD__GATEWAY_URL": discord.gateway_url,
            "BRAINROUTER_BRIDGE__DISCORD__ALLOWED_USERS": json.dumps([DISCORD_ME]),
            "BRAINROUTER_BRIDGE__DISCORD__ALLOWED_GUILDS": json.dumps([GUILD]),
            "BRAINROUTER_BRIDGE__DISCORD__ALLOWED_CHANNELS": json.dumps([CHANNEL]),
            "BRAINROUTER_DISCORD_TOKEN": discord.token,
        }
    return env


def _agent_runs(tmp_path: Path) -> list[dict[str, object]]:
    log = tmp_path / "agent.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_signal_commands_tasks_and_restart(
    tmp_path: Path, signal_cli: FakeSignal, local: FakeLLM
) -> None:
    env = _bridge_env(tmp_path, signal_cli, None, local)
    daemon = Daemon(env, tmp_path / "d.log").start()
    try:
        signal_cli.wait_for(lambda: signal_cli.listening() == 1)
        status = httpx.get(f"{daemon.url}/api/bridge-status").json()
        assert status["platforms"]["signal"]["state"] == "connected"
        assert status["platforms"]["discord"]["state"] == "off"
        assert signal_cli.url not in json.dumps(status)  # endpoints stay out of the dashboard

        # Strangers are ignored (logged once), and nothing runs for them.
        signal_cli.say(STRANGER, "rm -rf ~")
        signal_cli.say(STRANGER, "!br ping")
        assert ask(signal_cli, "!br ping") == "pong"
        assert signal_cli.sent(STRANGER) == [] and _agent_runs(tmp_path) == []
        assert daemon.log().count(f"ignored signal sender {STRANGER}") == 1

        assert "`!br ls`" in ask(signal_cli, "!br help")
        assert "`!br ls`" in ask(signal_cli, "!br frobnicate")  # unknown: help, nothing run
        assert ask(signal_cli, "!br status").startswith("route: auto · folder: ~ · agent: claude")
        assert (
            ask(signal_cli, "!br list")
            == "routes: auto, local, cloud\nlocal models: fake-local-1, fake-local-2"
        )
        assert ask(signal_cli, "!br mkdir ../escape").startswith("refused:")
        # One conversation, in order: each command and the bridge's answer.
        for command, answer in (
            ("!br ls", "~:\napp/"),
            ("!br mkdir notes", "made ~/notes"),
            ("!br cd ../secret", "refused: ../secret is outside the bridge's root"),
            ("!br cd /etc", "refused: /etc is outside the bridge's root"),
            ("!br cd nowhere", "refused: nowhere is not a folder"),
            ("!br cd app", "folder: ~/app"),
            ("!br ..", "folder: ~"),
            ("!br ..", "refused: already at the bridge's root"),
            ("!br cd notes", "folder: ~/notes"),
            ("!br qwen3.5-coder", "route: qwen3.5-coder"),
            ("!br auto", "route: auto"),
            ("!br local", "route: local"),
            ("!br review", "review mode: auto"),
            ("!br review cloud", "review mode: cloud (for every review)"),
            ("!br review", "review mode: cloud"),
        ):
            assert ask(signal_cli, command) == answer, command

        # A task: run in the session's folder, on its route, pointed at the daemon.
        answer = ask(signal_cli, "add a README")
        root = tmp_path / "work"
        assert answer == f"did: add a README | model=local | cwd={root / 'notes'} | resumed=None"
        run = _agent_runs(tmp_path)[-1]
        assert run["base_url"] == daemon.url
        # The daemon's keys stay with the daemon: the agent gets its own dummy key only.
        assert run["secrets"] == ["ANTHROPIC_API_KEY"]
        assert "--mcp-config" in run["argv"]  # type: ignore[operator]
        assert signal_cli.typing_to(ME) >= 1
        # The next message resumes the agent's conversation; a one-off model leaves the route.
        first_session = _agent_runs(tmp_path)[-1]
        assert "resumed=None" not in ask(signal_cli, "!br model big-model and a licence")
        assert "model=big-model" in signal_cli.sent(ME)[-1]
        assert ask(signal_cli, "!br status").startswith("route: local · folder: ~/notes")
        assert first_session

        # Long answers come in several messages, each within the limit, code blocks intact.
        signal_cli.say(ME, "code")
        signal_cli.wait_for(lambda: signal_cli.sent(ME)[-1].endswith("Done."))
        parts = signal_cli.sent(ME)[-6:]
        assert all(len(p) <= 1000 for p in signal_cli.sent(ME))
        assert all(p.count("```") % 2 == 0 for p in parts)
        assert ask(signal_cli, "fail").startswith("the agent failed: claude exited with 1")
        assert f"127.0.0.1:{signal_cli.port}" not in daemon.log()  # the endpoint is not logged
    finally:
        daemon.stop()

    # A restart keeps each conversation's folder, route and agent conversation.
    daemon = Daemon(env, tmp_path / "d2.log").start()
    try:
        signal_cli.wait_for(lambda: signal_cli.connections == 2)
        assert ask(signal_cli, "!br status") == (
            "route: local · folder: ~/notes · agent: claude (continues conversation) · idle"
        )
        assert "resumed=None" not in ask(signal_cli, "and now?")
        assert ask(signal_cli, "!br reset") == "the next message starts a new conversation"
        assert "resumed=None" in ask(signal_cli, "start over")
    finally:
        daemon.stop()


def test_one_task_at_a_time_reset_stops_it_and_a_dropped_stream_reconnects(
    tmp_path: Path, signal_cli: FakeSignal, local: FakeLLM
) -> None:
    daemon = Daemon(_bridge_env(tmp_path, signal_cli, None, local), tmp_path / "d.log").start()
    try:
        signal_cli.wait_for(lambda: signal_cli.listening() == 1)
        signal_cli.say(ME, "sleep 60")
        signal_cli.wait_for(lambda: len(_agent_runs(tmp_path)) == 1)
        assert ask(signal_cli, "another thing").startswith("still working on the previous task")
        assert "working for" in ask(signal_cli, "!br status")
        assert ask(signal_cli, "!br reset") == (
            "stopped the running task; the next message starts a new conversation"
        )
        assert ask(signal_cli, "!br status").endswith("idle")
        assert len(_agent_runs(tmp_path)) == 1  # the refused message never ran

        # signal-cli refuses to send: the reply is lost (and logged), the stream stays up.
        signal_cli.fail_sends = True
        signal_cli.say(ME, "!br ping")
        signal_cli.wait_for(lambda: "a reply was not sent" in daemon.log())
        signal_cli.fail_sends = False
        assert ask(signal_cli, "!br ping") == "pong"

        # What is not a text message from a person is passed over, and the stream stays up.
        signal_cli.event({}, raw=b"event:receive\ndata:{not json\n\n")
        signal_cli.event({"sourceNumber": ME, "typingMessage": {"action": "STARTED"}})
        signal_cli.event({"sourceNumber": ME, "dataMessage": {"message": 42}})
        signal_cli.event({"sourceNumber": ME, "syncMessage": {"sentMessage": {"message": "x"}}})
        assert ask(signal_cli, "!br ping") == "pong"
        assert signal_cli.connections == 1

        signal_cli.drop()  # signal-cli restarts: the bridge connects again by itself
        signal_cli.wait_for(lambda: signal_cli.connections == 2 and signal_cli.listening() == 1)
        assert ask(signal_cli, "!br ping") == "pong"
        status = httpx.get(f"{daemon.url}/api/bridge-status").json()["platforms"]["signal"]
        assert status["state"] == "connected" and status["retries"] == 1
    finally:
        daemon.stop()


def test_the_review_outcome_groups_and_the_time_limit(
    tmp_path: Path, signal_cli: FakeSignal, local: FakeLLM
) -> None:
    env = _bridge_env(tmp_path, signal_cli, None, local)
    env["BRAINROUTER_BRIDGE__TIMEOUT_S"] = "2"
    local.default = approve("Division is covered.")  # the reviewer (the local route)
    env["BRAINROUTER_BRIDGE__SIGNAL__GROUP_IDS"] = json.dumps(["team-group"])
    project = tmp_path / "work" / "calc"
    make_repo(project, {"calc.py": "def add(a, b):\n    return a + b\n"})
    (project / "calc.py").write_text(
        "def add(a, b):\n    return a + b\n\n\ndef div(a, b):\n    return a / b\n"
    )
    daemon = Daemon(env, tmp_path / "d.log").start()
    try:
        signal_cli.wait_for(lambda: signal_cli.listening() == 1)
        assert ask(signal_cli, "!br cd calc") == "folder: ~/calc"
        # The agent asked for a review of its work: the answer says how it went, and where.
        answer = ask(signal_cli, "review")
        assert answer.startswith("asked: approved\n\nreview: approved (round 1 of 5) http://")
        assert "/review/session/" in answer

        # A task past bridge.timeout_s is stopped, and says so.
        assert (
            ask(signal_cli, "sleep 30")
            == "the agent failed: claude gave no answer within 2 s; stopped"
        )

        # Groups: an allowed number in an allowed group; never in another group.
        signal_cli.say(ME, "!br ping", group="other-group")
        signal_cli.say(ME, "!br ping", group="team-group")
        signal_cli.wait_for(lambda: signal_cli.sent("group:team-group") == ["pong"])
        assert signal_cli.sent("group:other-group") == []
        # A group is its own conversation: its own folder.
        signal_cli.say(ME, "!br status", group="team-group")
        signal_cli.wait_for(lambda: len(signal_cli.sent("group:team-group")) == 2)
        assert signal_cli.sent("group:team-group")[-1].startswith("route: auto · folder: ~ ·")
    finally:
        daemon.stop()


def test_discord_through_discord_py(
    tmp_path: Path, signal_cli: FakeSignal, discord: FakeDiscord, local: FakeLLM
) -> None:
    daemon = Daemon(_bridge_env(tmp_path, signal_cli, discord, local), tmp_path / "d.log").start()
    try:
        discord.wait_for(lambda: discord.connected() == 1)
        discord.say(CHANNEL, "300000000000000999", "!br ping")  # not allowed: ignored
        discord.say("400000000000000002", DISCORD_ME, "!br ping")  # not an allowed channel
        discord.say(CHANNEL, DISCORD_ME, "!br ping", guild="500000000000000009")  # other server
        discord.say(CHANNEL, DISCORD_ME, "!br ping", guild=GUILD)
        discord.wait_for(lambda: discord.texts(CHANNEL) == ["pong"])
        assert discord.texts("400000000000000002") == []
        discord.say(CHANNEL, DISCORD_ME, "long 60", guild=GUILD)
        discord.wait_for(lambda: len(discord.texts(CHANNEL)) > 2)
        discord.wait_for(lambda: "line 59" in discord.texts(CHANNEL)[-1])
        replies = discord.texts(CHANNEL)[1:]
        assert all(len(r) <= 1900 for r in replies) and len(replies) == 3
        assert CHANNEL in discord.typing
        # no pings from an agent's answer
        assert all(m["allowed_mentions"] == {"parse": []} for m in discord.sent)

        discord.wait_for(lambda: discord.heartbeats >= 2)  # acknowledged: the session stays
        discord.drop()  # the gateway closes: discord.py resumes
        discord.wait_for(lambda: discord.resumes == 1 and discord.connected() == 1)
        discord.say(CHANNEL, DISCORD_ME, "!br status", guild=GUILD)
        discord.wait_for(lambda: discord.texts(CHANNEL)[-1].startswith("route: auto"))
        status = httpx.get(f"{daemon.url}/api/bridge-status").json()["platforms"]["discord"]
        assert status["state"] == "connected"
        assert discord.token not in daemon.log()
    finally:
        daemon.stop()


def test_a_wrong_discord_token_is_retried_and_shown_without_the_token(
    tmp_path: Path, signal_cli: FakeSignal, discord: FakeDiscord, local: FakeLLM
) -> None:
    env = _bridge_env(tmp_path, signal_cli, discord, local)
    env["BRAINROUTER_DISCORD_TOKEN"] = "wrong-token-123"
    daemon = Daemon(env, tmp_path / "d.log").start()
    try:
        signal_cli.wait_for(lambda: signal_cli.listening() == 1)
        assert ask(signal_cli, "!br ping") == "pong"  # the other platform is unaffected

        def retrying() -> bool:
            status = httpx.get(f"{daemon.url}/api/bridge-status").json()["platforms"]["discord"]
            return bool(status["state"] == "retrying" and status["last_error"])

        signal_cli.wait_for(retrying)
        shown = httpx.get(f"{daemon.url}/api/bridge-status").text
        assert "LoginFailure" in shown and "wrong-token-123" not in shown
        assert "wrong-token-123" not in daemon.log()
        doctor = subprocess.run(
            [BRAINROUTER, "doctor"], env=daemon.env, capture_output=True, text=True, timeout=120
        )
        assert doctor.returncode == 1
        assert "ok    signal: connected" in doctor.stdout
        assert "FAIL  discord: retrying (LoginFailure" in doctor.stdout
        assert "wrong-token-123" not in doctor.stdout
    finally:
        daemon.stop()


@pytest.mark.parametrize(
    ("setting", "value", "said"),
    [
        (
            "ROOT",
            "/nonexistent/brainrouter-root",
            "bridge.root: /nonexistent/brainrouter-root is not a folder",
        ),
        ("WORK_DIR", "/etc", "bridge.work_dir: /etc is not a folder inside bridge.root"),
    ],
)
def test_serve_refuses_bridge_folders_it_cannot_use(
    tmp_path: Path, setting: str, value: str, said: str
) -> None:
    env = {
        **os.environ,
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}",
        "BRAINROUTER_PROXY__MODEL__ENABLED": "false",
        "BRAINROUTER_BRIDGE__ROOT": str(tmp_path),
        "BRAINROUTER_BRIDGE__SIGNAL__ENABLED": "true",
        f"BRAINROUTER_BRIDGE__{setting}": value,
    }
    done = subprocess.run(
        [BRAINROUTER, "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and said in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
