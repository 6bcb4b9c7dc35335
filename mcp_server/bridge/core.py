"""One chat message in, replies out: who may speak, what `!br` asks, and the agent's task run
in the conversation's folder, one at a time per conversation. Platforms (discord_chat.py,
signal_chat.py) deliver messages here and send what it says."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from mcp_server.bridge import commands
from mcp_server.bridge.agent import AgentError, Answer
from mcp_server.bridge.chunks import chunk
from mcp_server.bridge.commands import Command, Task
from mcp_server.bridge.sandbox import OutsideRoot, Sandbox
from mcp_server.bridge.store import BridgeSession, SessionStore

log = logging.getLogger("brainrouter.bridge")

_TYPING_EVERY_S = 8.0  # Discord shows "typing" for 10 s, Signal for about 15
_REFUSED_KEPT = 10_000  # strangers remembered (to log each once); a flood cannot grow it more


@dataclass(frozen=True)
class Incoming:
    platform: str  # discord | signal
    conversation: str  # where to answer: a channel id, a number, "group:<id>"
    sender: str  # who wrote it: a user id or a number
    text: str
    guild: str | None = None  # the Discord server or Signal group; None in a direct message


class Transport(Protocol):
    platform: str
    limit: int  # characters a message may hold
    # What the supervisor hears of the connection, set by whoever runs the transport.
    on_connected: Callable[[], None]
    on_disconnected: Callable[[], None]

    async def serve(self, deliver: Callable[[Incoming], Awaitable[None]]) -> None:
        """Connect and deliver messages until the connection ends (raises why)."""

    async def send(self, conversation: str, text: str) -> None: ...

    async def typing(self, conversation: str) -> None: ...

    async def aclose(self) -> None: ...


class Agent(Protocol):
    name: str

    async def __call__(self, task: str, model: str, resume: str | None, cwd: Path) -> Answer: ...


@dataclass
class Controls:
    """What the bridge asks of the rest of the daemon."""

    models: Callable[[], Awaitable[list[str]]]  # the local server's models
    review_mode: Callable[[], Awaitable[str]]
    set_review_mode: Callable[[str], Awaitable[None]]
    # The review outcome of work in `cwd` since a time, if the agent asked for one.
    review_outcome: Callable[[Path, datetime], Awaitable[str | None]]


@dataclass
class _Running:
    task: asyncio.Task[None]
    started: float


Allowed = Callable[[Incoming], bool]


class Bridge:
    def __init__(
        self,
        sessions: SessionStore,
        sandbox: Sandbox,
        agent: Agent,
        controls: Controls,
        allowed: dict[str, Allowed],
        default_cwd: Path,
        default_route: str = "auto",
        max_reply_messages: int = 10,
    ) -> None:
        self.sessions = sessions
        self.sandbox = sandbox
        self.agent = agent
        self.controls = controls
        self.allowed = allowed
        self.default_cwd = sandbox.check(default_cwd)
        self.default_route = default_route
        self.max_reply_messages = max_reply_messages
        self.transports: dict[str, Transport] = {}
        self._running: dict[tuple[str, str], _Running] = {}
        self._refused: set[tuple[str, str]] = set()

    # ------------------------------------------------------------------ incoming
    async def handle(self, message: Incoming) -> None:
        if not self.allowed.get(message.platform, lambda _m: False)(message):
            who = (message.platform, message.sender)
            if who not in self._refused:  # logged once per sender, then ignored quietly
                if len(self._refused) < _REFUSED_KEPT:
                    self._refused.add(who)
                log.warning(
                    "bridge: ignored %s sender %s (not in bridge.%s's allowlist)",
                    message.platform,
                    message.sender,
                    message.platform,
                )
            return
        parsed = commands.parse(message.text)
        if parsed is None:
            return
        session = await asyncio.to_thread(
            self.sessions.get,
            message.platform,
            message.conversation,
            str(self.default_cwd),
            self.default_route,
        )
        if isinstance(parsed, Task):
            await self._start(message, session, parsed)
        else:
            await self.reply(message, await self._command(message, session, parsed))

    async def reply(self, message: Incoming, text: str) -> None:
        transport = self.transports[message.platform]
        parts = chunk(text, transport.limit)
        if len(parts) > self.max_reply_messages:
            kept = parts[: self.max_reply_messages]
            left = sum(len(p) for p in parts[self.max_reply_messages :])
            parts = [*kept, f"… (cut here: {left} more characters)"]
        for part in parts:
            try:
                await transport.send(message.conversation, part)
            except Exception as exc:
                # The platform refused or is gone: the connection that brings messages in is
                # not at fault, and the rest of this reply would fare no better.
                log.warning("bridge: %s: a reply was not sent (%s)", message.platform, exc)
                return

    # ------------------------------------------------------------------ commands
    def _cwd(self, session: BridgeSession) -> Path:
        """The session's folder, if it is still inside the root (else the default)."""
        try:
            return self.sandbox.check(Path(session.cwd))
        except OutsideRoot:
            return self.default_cwd

    async def _save(self, session: BridgeSession) -> None:
        await asyncio.to_thread(self.sessions.save, session)

    async def _command(self, message: Incoming, session: BridgeSession, command: Command) -> str:
        key = (message.platform, message.conversation)
        name, argument = command.name, command.argument
        if name == "ping":
            return "pong"
        if name == "help":
            return commands.HELP
        if name == "status":
            running = self._running.get(key)
            busy = f"working for {time.monotonic() - running.started:.0f} s" if running else "idle"
            conversation = "continues" if session.agent_session else "new"
            return (
                f"route: {session.route} · folder: {self.sandbox.shown(self._cwd(session))} · "
                f"agent: {self.agent.name} ({conversation} conversation) · {busy}"
            )
        if name == "reset":
            stopped = await self._stop(key)
            session.agent_session = None
            await self._save(session)
            return ("stopped the running task; " if stopped else "") + (
                "the next message starts a new conversation"
            )
        if name == "route":
            session.route = argument
            await self._save(session)
            return f"route: {argument}"
        if name == "list":
            try:
                models = await self.controls.models()
            except Exception as exc:  # the local server is down: say so, keep the routes
                return f"routes: auto, local, cloud\nlocal models: unavailable ({exc})"
            listed = ", ".join(models) if models else "none listed"
            return f"routes: auto, local, cloud\nlocal models: {listed}"
        if name == "review":
            if argument:
                await self.controls.set_review_mode(argument)
                return f"review mode: {argument} (for every review)"
            return f"review mode: {await self.controls.review_mode()}"
        return await self._folder(session, name, argument)

    async def _folder(self, session: BridgeSession, name: str, argument: str) -> str:
        cwd = self._cwd(session)
        try:
            if name == "ls":
                entries = await asyncio.to_thread(self.sandbox.listing, cwd)
                return f"{self.sandbox.shown(cwd)}:\n" + ("\n".join(entries) or "(empty)")
            if name == "cd":
                target = self.sandbox.cd(cwd, argument)
            elif name == "up":
                target = self.sandbox.up(cwd)
            else:
                made = self.sandbox.mkdir(cwd, argument)
                return f"made {self.sandbox.shown(made)}"
        except OutsideRoot as exc:
            return f"refused: {exc}"
        except OSError as exc:
            return f"refused: {exc.strerror or exc}"
        session.cwd = str(target)
        await self._save(session)
        return f"folder: {self.sandbox.shown(target)}"

    # ------------------------------------------------------------------ tasks
    async def _stop(self, key: tuple[str, str]) -> bool:
        running = self._running.pop(key, None)
        if running is None:
            return False
        running.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running.task
        return True

    async def _start(self, message: Incoming, session: BridgeSession, task: Task) -> None:
        key = (message.platform, message.conversation)
        running = self._running.get(key)
        if running is not None:
            await self.reply(
                message,
                f"still working on the previous task ({time.monotonic() - running.started:.0f} s);"
                " send `!br reset` to stop it",
            )
            return
        job = asyncio.create_task(self._run(message, session, task))
        self._running[key] = _Running(job, time.monotonic())
        job.add_done_callback(lambda _t: self._forget(key, job))

    def _forget(self, key: tuple[str, str], job: asyncio.Task[None]) -> None:
        if (running := self._running.get(key)) is not None and running.task is job:
            del self._running[key]

    async def _typing(self, message: Incoming) -> None:
        transport = self.transports[message.platform]
        while True:
            try:
                await transport.typing(message.conversation)
            except Exception as exc:  # a lost indicator is no reason to stop the task
                log.debug("bridge: typing indicator failed: %s", exc)
            await asyncio.sleep(_TYPING_EVERY_S)

    async def _run(self, message: Incoming, session: BridgeSession, task: Task) -> None:
        cwd = self._cwd(session)
        model = task.model or session.route
        # A conversation is resumed only by the harness that holds it.
        resume = session.agent_session if session.agent == self.agent.name else None
        started = datetime.now(UTC)
        typing = asyncio.create_task(self._typing(message))
        try:
            answer = await self.agent(task.text, model, resume, cwd)
        except AgentError as exc:
            await self.reply(message, f"the agent failed: {exc}")
            return
        except Exception as exc:
            log.exception("bridge: task failed")
            await self.reply(message, f"the agent failed: {type(exc).__name__}")
            return
        finally:
            typing.cancel()
        if answer.session:
            # Read again: the route or folder may have changed while the agent worked.
            now = await asyncio.to_thread(
                self.sessions.get, message.platform, message.conversation, str(cwd)
            )
            now.agent, now.agent_session = self.agent.name, answer.session
            await self._save(now)
        text = answer.text.strip() or "(the agent gave an empty answer)"
        outcome = await self.controls.review_outcome(cwd, started)
        if outcome:
            text = f"{text}\n\nreview: {outcome}"
        await self.reply(message, text)

    async def aclose(self) -> None:
        for key in list(self._running):
            await self._stop(key)
