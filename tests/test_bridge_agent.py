"""The agent runner: each harness's command line, reading its answer, and stopping it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from mcp_server.bridge.agent import AgentError, Claude, Codex, OpenCode, run

MCP = ["/opt/br/bin/brainrouter", "mcp"]
PROXY = "http://127.0.0.1:9099"


def test_claude_gets_the_task_on_stdin_never_as_an_argument() -> None:
    call = Claude().invocation("claude", "--help me", "local", "sess-1", PROXY, MCP)
    assert "--help me" not in call.argv and call.stdin == "--help me"
    assert call.argv[call.argv.index("--model") + 1] == "local"
    assert call.argv[call.argv.index("--resume") + 1] == "sess-1"
    config = json.loads(call.argv[call.argv.index("--mcp-config") + 1])
    assert config["mcpServers"]["brainrouter"] == {
        "type": "stdio",
        "command": MCP[0],
        "args": ["mcp"],
    }
    assert call.env["ANTHROPIC_BASE_URL"] == PROXY


def test_claude_answers_are_read_and_its_errors_named() -> None:
    line = json.dumps({"type": "result", "result": "done", "session_id": "s2", "is_error": False})
    answer = Claude().answer("warming up\n" + line + "\n")
    assert (answer.text, answer.session) == ("done", "s2")
    with pytest.raises(AgentError, match="claude: API Error: 401"):
        Claude().answer(json.dumps({"result": "API Error: 401", "is_error": True}))
    with pytest.raises(AgentError, match="printed no result"):
        Claude().answer("not json")


def test_codex_is_configured_on_its_command_line_and_its_thread_read() -> None:
    call = Codex().invocation("codex", "task", "auto", "th-9", PROXY, MCP)
    assert call.argv[:4] == ["codex", "exec", "resume", "th-9"] and call.argv[-1] == "-"
    settings = dict(call.argv[i + 1].split("=", 1) for i, a in enumerate(call.argv) if a == "-c")
    assert settings["model_providers.brainrouter.base_url"] == json.dumps(f"{PROXY}/v1")
    assert json.loads(settings["mcp_servers.brainrouter.args"]) == ["mcp"]
    events = [
        {"type": "thread.started", "thread_id": "th-10"},
        {"type": "item.completed", "item": {"type": "agent_message", "text": "first"}},
        {"type": "item.completed", "item": {"type": "agent_message", "text": "final"}},
    ]
    answer = Codex().answer("\n".join(json.dumps(e) for e in events) + "\nnoise\n")
    assert (answer.text, answer.session) == ("final", "th-10")
    with pytest.raises(AgentError, match="no answer"):
        Codex().answer(json.dumps(events[0]))


def test_opencode_gets_its_provider_from_the_environment() -> None:
    call = OpenCode().invocation("opencode", "-x task", "cloud", None, PROXY, MCP)
    assert call.argv[-2:] == ["--", "-x task"]  # after `--`: never read as an option
    assert call.argv[call.argv.index("--model") + 1] == "brainrouter/cloud"
    config = json.loads(call.env["OPENCODE_CONFIG_CONTENT"])
    assert config["provider"]["brainrouter"]["options"]["baseURL"] == f"{PROXY}/v1"
    assert config["mcp"]["brainrouter"]["command"] == MCP
    resumed = OpenCode().invocation("opencode", "t", "cloud", "ses_1", PROXY, MCP)
    assert resumed.argv[resumed.argv.index("--session") + 1] == "ses_1"


def test_opencode_answers_are_the_text_of_its_last_message() -> None:
    def text(message: str, words: str) -> str:
        part = {"type": "text", "messageID": message, "text": words}
        return json.dumps({"type": "text", "sessionID": "ses_9", "part": part})

    step = json.dumps({"type": "step_start", "sessionID": "ses_9", "part": {"type": "step-start"}})
    out = "\n".join(
        [step, text("m1", "Let me look."), text("m2", "It adds "), text("m2", "numbers.")]
    )
    answer = OpenCode().answer(out)
    assert (answer.text, answer.session) == ("It adds numbers.", "ses_9")
    with pytest.raises(AgentError, match="no answer"):
        OpenCode().answer(step)


async def test_a_missing_cli_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="cannot start claude"):
        await run(Claude(), str(tmp_path / "nope"), "t", "auto", None, tmp_path, 5, PROXY, MCP)


async def test_cancelling_stops_the_agent_and_what_it_started(tmp_path: Path) -> None:
    script = tmp_path / "agent"
    pid_file = tmp_path / "child.pid"
    # An agent that starts a child of its own (as a shell command would), then hangs.
    script.write_text(
        f"#!/bin/sh\n{sys.executable} -c 'import time; time.sleep(120)' &\n"
        f"echo $! > {pid_file}\nwait\n"
    )
    script.chmod(0o755)
    job = asyncio.create_task(
        run(Claude(), str(script), "t", "auto", None, tmp_path, 60, PROXY, MCP)
    )
    while not pid_file.exists() or not pid_file.read_text().strip():
        await asyncio.sleep(0.02)
    child = int(pid_file.read_text())
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    for _ in range(250):  # reaped by init once killed; poll, do not sleep a fixed time
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        if Path(f"/proc/{child}/stat").read_text().split()[2] == "Z":
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the agent's child survived")


def test_the_daemons_keys_are_named_for_hiding() -> None:
    from mcp_server.bridge.service import secret_variables
    from mcp_server.config import Settings

    settings = Settings.model_validate(
        {
            "proxy": {
                "local": {"api_key_env": "LLAMA_KEY"},
                "cloud": {"instances": [{"base_url": "http://gw/v1", "api_key_env": "KEY_2"}]},
            },
            "bridge": {"discord": {"token_env": "MY_BOT_TOKEN"}},
        }
    )
    assert secret_variables(settings) >= {
        "BRAINROUTER_CLOUD_API_KEY",
        "KEY_2",
        "LLAMA_KEY",
        "MY_BOT_TOKEN",
    }


@pytest.mark.parametrize("harness", [Claude(), Codex(), OpenCode()])
def test_no_agent_is_given_a_permission_bypass(harness: Claude | Codex | OpenCode) -> None:
    """A chat message becomes the agent's task: the bridge never widens what it may do."""
    argv = " ".join(harness.invocation("agent", "t", "auto", "s", PROXY, MCP).argv).lower()
    for flag in ("dangerously", "bypass", "--yolo", "--full-auto", "--auto", "never"):
        assert flag not in argv, flag
