"""The bridge as part of the daemon: builds the enabled platforms from `bridge:` config, the
agent from `bridge.agent`, the review and model controls from the daemon's runtimes; starts a
supervised connection per platform and reports their state (dashboard, `brainrouter doctor`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from mcp_server.bridge import agent
from mcp_server.bridge.core import Bridge, Controls, Incoming, Transport
from mcp_server.bridge.sandbox import OutsideRoot, Sandbox
from mcp_server.bridge.settings import BridgeSettings, DiscordSettings, SignalSettings
from mcp_server.bridge.store import SessionStore
from mcp_server.bridge.supervisor import Supervisor
from mcp_server.config import Settings
from mcp_server.install.harnesses import brainrouter_executable
from mcp_server.wiring import ProxyRuntime, ReviewRuntime
from review.store import Store

log = logging.getLogger("brainrouter.bridge")


def discord_allows(settings: DiscordSettings, message: Incoming) -> bool:
    if message.sender not in settings.allowed_users:
        return False
    if settings.allowed_channels and message.conversation not in settings.allowed_channels:
        return False
    return not (
        message.guild is not None
        and settings.allowed_guilds
        and message.guild not in settings.allowed_guilds
    )


def signal_allows(settings: SignalSettings, message: Incoming) -> bool:
    if message.sender not in settings.allowed_numbers:
        return False
    return not (
        message.guild is not None and settings.group_ids and message.guild not in settings.group_ids
    )


def secret_variables(settings: Settings) -> set[str]:
    """The environment variables holding keys the daemon uses: upstream API keys (the proxy
    holds them so that agents need none) and the chat platforms' tokens."""
    proxy, review = settings.proxy, settings.review
    names = {proxy.cloud.api_key_env, proxy.local.api_key_env, settings.bridge.discord.token_env}
    names |= {i.api_key_env for i in proxy.cloud.instances}
    names |= {review.cloud.api_key_env, review.local.api_key_env}  # older configs' reviewers
    return {name for name in names if name}


class HarnessAgent:
    """bridge.agent run through brainrouter's proxy and MCP server, without the daemon's keys
    in its environment (a chat message may steer it into running anything)."""

    def __init__(self, settings: BridgeSettings, proxy_url: str, hidden: set[str]) -> None:
        self.harness = agent.HARNESSES[settings.agent]
        self.name = self.harness.name
        self.exe = settings.agent_path or self.name
        self.timeout_s = settings.timeout_s
        self.proxy_url = proxy_url
        self.mcp = [brainrouter_executable(), "mcp"]
        self.hidden = hidden

    async def __call__(self, task: str, model: str, resume: str | None, cwd: Path) -> agent.Answer:
        return await agent.run(
            self.harness,
            self.exe,
            task,
            model,
            resume,
            cwd,
            self.timeout_s,
            self.proxy_url,
            self.mcp,
            hidden_env=self.hidden,
        )


def _review_controls(review: ReviewRuntime, proxy: ProxyRuntime) -> Controls:
    async def review_mode() -> str:
        service = await review.service()
        mode, model = await asyncio.to_thread(service.config.get)
        return f"{mode}" + (f" ({model})" if model else "")

    async def set_review_mode(mode: str) -> None:
        service = await review.service()
        await asyncio.to_thread(service.config.set, mode)

    async def review_outcome(cwd: Path, since: datetime) -> str | None:
        service = await review.service()
        listing = await service.list_sessions(limit=20)
        for session in listing.sessions:  # the newest first
            if session.updated_at is None or session.project_dir is None:
                continue
            project = Path(session.project_dir)
            if session.updated_at >= since and (project == cwd or project in cwd.parents):
                return (
                    f"{session.status} (round {session.cycle_round} of "
                    f"{session.max_iterations}) {session.review_url}"
                )
        return None

    return Controls(proxy.service.local_models, review_mode, set_review_mode, review_outcome)


class BridgeConfigError(ValueError):
    """bridge: names a folder that cannot be used; the daemon does not start with it."""


def _folders(own: BridgeSettings) -> tuple[Sandbox, Path]:
    sandbox = Sandbox(own.root)
    if not sandbox.root.is_dir():
        raise BridgeConfigError(f"bridge.root: {own.root} is not a folder")
    start = own.work_dir or own.root
    try:
        return sandbox, sandbox.check(start)
    except OutsideRoot:
        raise BridgeConfigError(
            f"bridge.work_dir: {start} is not a folder inside bridge.root ({sandbox.root})"
        ) from None


class BridgeService:
    def __init__(
        self, settings: Settings, store: Store, review: ReviewRuntime, proxy: ProxyRuntime
    ) -> None:
        own = settings.bridge
        self.settings = own
        self.sandbox, start = _folders(own)
        self.bridge = Bridge(
            SessionStore(store),
            self.sandbox,
            HarnessAgent(own, settings.server.loopback_url, secret_variables(settings)),
            _review_controls(review, proxy),
            {
                "discord": lambda m: discord_allows(own.discord, m),
                "signal": lambda m: signal_allows(own.signal, m),
            },
            start,
            own.default_route,
            own.max_reply_messages,
        )
        self.supervisors: dict[str, Supervisor] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._closers: list[Callable[[], Awaitable[None]]] = []

    def add(self, transport: Transport, secrets: list[str]) -> None:
        """Serve `transport` under a supervisor; `secrets` never show in its errors."""
        self.bridge.transports[transport.platform] = transport
        supervisor = Supervisor(
            transport.platform, lambda: transport.serve(self.bridge.handle), lambda: secrets
        )
        transport.on_connected = supervisor.connected
        transport.on_disconnected = supervisor.disconnected
        self.supervisors[transport.platform] = supervisor
        self._closers.append(transport.aclose)

    async def start(self) -> None:
        if self.settings.discord.enabled:
            from mcp_server.bridge.discord_chat import DiscordTransport

            discord = DiscordTransport(self.settings.discord)
            self.add(discord, [discord.token() or ""])
        if self.settings.signal.enabled:
            from mcp_server.bridge.signal_chat import SignalTransport

            self.add(SignalTransport(self.settings.signal), [])
        for supervisor in self.supervisors.values():
            self._tasks.append(asyncio.create_task(supervisor.run()))

    def status(self) -> dict[str, Any]:
        platforms = {}
        for name in ("discord", "signal"):
            supervisor = self.supervisors.get(name)
            platforms[name] = (
                supervisor.status.as_dict() if supervisor else {"platform": name, "state": "off"}
            )
        return {"agent": self.settings.agent, "platforms": platforms}

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.bridge.aclose()
        for close in self._closers:
            await close()
