"""`brainrouter doctor` on the chat bridges: what config lets through, whether the agent CLI
and the tokens are there, and (with a daemon running) each platform's connection."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable

import httpx

from mcp_server.bridge.settings import BridgeSettings


def check_bridges(
    settings: BridgeSettings,
    daemon_url: str | None,
    ok: Callable[[str], None],
    bad: Callable[[str, str], None],
) -> int:
    """Runs the checks; returns how many failed."""
    failed = 0

    def fail(message: str, fix: str) -> None:
        nonlocal failed
        failed += 1
        bad(message, fix)

    exe = settings.agent_path or settings.agent
    if shutil.which(exe):
        ok(f"agent: {settings.agent} ({shutil.which(exe)})")
    else:
        fail(f"agent {exe!r} not found", "install it, or set bridge.agent_path")
    if not settings.root.is_dir():
        fail(f"bridge.root {settings.root} is not a folder", "create it, or set bridge.root")
    discord, signal = settings.discord, settings.signal
    if discord.enabled:
        if not os.environ.get(discord.token_env):
            fail(f"discord: ${discord.token_env} is not set", "export the bot token in it")
        if not discord.allowed_users:
            fail("discord: no allowed_users: nobody can use the bot", "list your Discord user id")
    if signal.enabled and not signal.allowed_numbers:
        fail("signal: no allowed_numbers: nobody can use the bot", "list your number (E.164)")
    if daemon_url is None:
        return failed
    try:
        status = httpx.get(f"{daemon_url}/api/bridge-status", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        fail("the daemon did not report its bridges", "restart it: `brainrouter serve`")
        return failed
    for name, platform in status.get("platforms", {}).items():
        if platform.get("state") == "connected":
            ok(f"{name}: connected")
        elif platform.get("state") != "off":
            fail(
                f"{name}: {platform.get('state')} ({platform.get('last_error') or 'no error yet'})",
                "see the daemon log; the bridge keeps retrying by itself",
            )
    return failed
