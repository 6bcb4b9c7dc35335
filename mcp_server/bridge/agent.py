"""The coding agent a chat drives: a harness CLI run non-interactively in the session's folder,
pointed at brainrouter's proxy with the session's route as its model and brainrouter's MCP
server registered, its own conversation resumed from one message to the next. A harness is
a small class: the command line for one task, and how to read its answer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from mcp_server.install.harnesses import NAME

_KILL_GRACE_S = 3.0


class AgentError(RuntimeError):
    """The agent ran but gave no answer (it failed, timed out, or printed nothing usable)."""


@dataclass(frozen=True)
class Invocation:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    stdin: str = ""


@dataclass(frozen=True)
class Answer:
    text: str
    session: str | None  # the agent's own conversation id, to resume next time


class Harness(Protocol):
    name: str

    def invocation(
        self, exe: str, task: str, model: str, resume: str | None, proxy_url: str, mcp: list[str]
    ) -> Invocation: ...

    def answer(self, stdout: str) -> Answer: ...


def _mcp_server(mcp: list[str]) -> dict[str, object]:
    return {"type": "stdio", "command": mcp[0], "args": mcp[1:]}


class Claude:
    """`claude -p`, the task on stdin (never an argument: a task may start with `-`)."""

    name = "claude"

    def invocation(
        self, exe: str, task: str, model: str, resume: str | None, proxy_url: str, mcp: list[str]
    ) -> Invocation:
        config = json.dumps({"mcpServers": {NAME: _mcp_server(mcp)}})
        argv = [exe, "-p", "--output-format", "json", "--model", model, "--mcp-config", config]
        if resume:
            argv += ["--resume", resume]
        # The proxy holds the cloud key; Claude Code wants one of its own to send.
        env = {"ANTHROPIC_BASE_URL": proxy_url, "ANTHROPIC_API_KEY": "brainrouter"}
        return Invocation(argv, env, task)

    def answer(self, stdout: str) -> Answer:
        try:
            data = json.loads(stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise AgentError(f"claude printed no result: {stdout[-300:]!r}") from None
        if not isinstance(data, dict) or not isinstance(data.get("result"), str):
            raise AgentError(f"claude printed no result: {stdout[-300:]!r}")
        if data.get("is_error"):
            raise AgentError(f"claude: {data['result'][:500]}")
        session = data.get("session_id")
        return Answer(data["result"], session if isinstance(session, str) else None)


class Codex:
    """`codex exec --json` (resume: `codex exec resume <id>`), configured on its command line."""

    name = "codex"

    def invocation(
        self, exe: str, task: str, model: str, resume: str | None, proxy_url: str, mcp: list[str]
    ) -> Invocation:
        # `-c key=value` values are TOML; a JSON string or array of strings is one.
        settings = {
            "model_provider": NAME,
            f"model_providers.{NAME}.name": "Brainrouter",
            f"model_providers.{NAME}.base_url": f"{proxy_url}/v1",
            f"model_providers.{NAME}.wire_api": "responses",
            f"mcp_servers.{NAME}.command": mcp[0],
            f"mcp_servers.{NAME}.args": mcp[1:],
            f"mcp_servers.{NAME}.tools.request_review.approval_mode": "approve",
        }
        overrides = [f"{key}={json.dumps(value)}" for key, value in settings.items()]
        argv = [exe, "exec"]
        if resume:
            argv += ["resume", resume]
        argv += ["--json", "--skip-git-repo-check", "-m", model]
        for override in overrides:
            argv += ["-c", override]
        return Invocation([*argv, "-"], {}, task)

    def answer(self, stdout: str) -> Answer:
        session, texts = None, []
        for line in stdout.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            if event.get("type") == "thread.started" and isinstance(event.get("thread_id"), str):
                session = event["thread_id"]
            item = event.get("item")
            if (
                event.get("type") == "item.completed"
                and isinstance(item, dict)
                and item.get("type") == "agent_message"
                and isinstance(item.get("text"), str)
            ):
                texts.append(item["text"])
        if not texts:
            raise AgentError(f"codex printed no answer: {stdout[-300:]!r}")
        return Answer(texts[-1], session)


class OpenCode:
    """`opencode run --format json` (resume: `--session <id>`), configured through
    OPENCODE_CONFIG_CONTENT; the answer is the text of its last message."""

    name = "opencode"

    def invocation(
        self, exe: str, task: str, model: str, resume: str | None, proxy_url: str, mcp: list[str]
    ) -> Invocation:
        config = {
            "provider": {
                NAME: {
                    "npm": "@ai-sdk/openai-compatible",
                    "name": "Brainrouter",
                    "options": {"baseURL": f"{proxy_url}/v1"},
                    "models": {model: {"name": model}},
                }
            },
            "mcp": {NAME: {"type": "local", "command": mcp, "enabled": True}},
        }
        argv = [exe, "run", "--format", "json", "--model", f"{NAME}/{model}"]
        if resume:
            argv += ["--session", resume]
        env = {"OPENCODE_CONFIG_CONTENT": json.dumps(config)}
        return Invocation([*argv, "--", task], env)

    def answer(self, stdout: str) -> Answer:
        session: str | None = None
        texts: dict[str, list[str]] = {}  # message id → its text parts, in order
        for line in stdout.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict) or not isinstance(part := event.get("part"), dict):
                continue
            if session is None and isinstance(event.get("sessionID"), str):
                session = event["sessionID"]
            if event.get("type") == "text" and isinstance(part.get("text"), str):
                texts.setdefault(str(part.get("messageID")), []).append(part["text"])
        if not texts:
            raise AgentError(f"opencode printed no answer: {stdout[-300:]!r}")
        return Answer("".join(list(texts.values())[-1]).strip(), session)


HARNESSES: dict[str, Harness] = {h.name: h for h in (Claude(), Codex(), OpenCode())}


def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


async def _stop(process: asyncio.subprocess.Process) -> None:
    """The agent and everything it started (its own process group): asked, then made to."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        await asyncio.wait_for(process.wait(), _KILL_GRACE_S)
    except TimeoutError:
        _kill(process)
        await process.wait()


async def run(
    harness: Harness,
    exe: str,
    task: str,
    model: str,
    resume: str | None,
    cwd: Path,
    timeout_s: float,
    proxy_url: str,
    mcp: list[str],
    hidden_env: Collection[str] = (),
) -> Answer:
    """One task; cancelling the caller stops the agent (`!br reset`). The variables named in
    `hidden_env` are left out of its environment."""
    call = harness.invocation(exe, task, model, resume, proxy_url, mcp)
    env = {k: v for k, v in os.environ.items() if k not in hidden_env}
    try:
        process = await asyncio.create_subprocess_exec(
            *call.argv,
            cwd=cwd,
            env={**env, **call.env},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise AgentError(f"cannot start {harness.name} ({exe}): {exc.strerror or exc}") from None
    try:
        async with asyncio.timeout(timeout_s):
            out, err = await process.communicate(call.stdin.encode())
    except TimeoutError:
        await _stop(process)
        raise AgentError(f"{harness.name} gave no answer within {timeout_s:g} s; stopped") from None
    except asyncio.CancelledError:
        await _stop(process)
        raise
    stdout = out.decode(errors="replace")
    if process.returncode != 0:
        said = (err.decode(errors="replace").strip() or stdout.strip())[-500:]
        raise AgentError(f"{harness.name} exited with {process.returncode}: {said}")
    return harness.answer(stdout)
