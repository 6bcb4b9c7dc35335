"""`brainrouter mcp` relays to the daemon so that every harness shares one database, one model
and one web page. Nothing here runs before the first tool call: `initialize` is answered at
once, and the daemon is found (or started in the background) only when a tool is used.

FastMCP's own proxy would do the forwarding, but importing it costs about a second at start,
which is what harnesses wait for; this relay imports the MCP client on first use instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from platformdirs import user_log_path

from mcp_server.config import Settings
from mcp_server.tools import ProgressFn, ReviewBackend
from mcp_server.wiring import ReviewRuntime
from review.errors import ReviewUnavailable, from_tool_message
from review.request import ReviewRequest
from review.results import ReviewResult, SessionDetails, SessionList
from review.status import VerdictSource

log = logging.getLogger("brainrouter.relay")
DAEMON_START_TIMEOUT_S = 30.0


class DaemonUnavailable(ReviewUnavailable):
    """No daemon answered, or it failed mid-call."""


class DaemonBackend:
    """The review tools of a running daemon, called over MCP streamable HTTP."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        self.mcp_url = f"{base_url}/mcp"
        self.timeout_s = timeout_s

    async def _call(
        self, tool: str, args: dict[str, Any], progress: ProgressFn | None = None
    ) -> Any:
        from fastmcp import Client
        from fastmcp.exceptions import ToolError

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            if progress is not None:
                await progress(done, total, message or "")

        try:
            async with Client(self.mcp_url, timeout=self.timeout_s) as client:
                result = await client.call_tool(tool, args, progress_handler=on_progress)
        except ToolError as exc:
            raise from_tool_message(str(exc)) from None
        except (OSError, RuntimeError) as exc:
            raise DaemonUnavailable(
                f"the brainrouter daemon at {self.mcp_url} failed: {exc}"
            ) from exc
        return result.structured_content

    async def request_review(
        self,
        request: ReviewRequest,
        progress: ProgressFn | None = None,
        asker_uid: int | None = None,
    ) -> ReviewResult:
        # The daemon sees who is asking: this relay's own uid, on its loopback connection.
        args = request.model_dump(by_alias=True)  # the tool's parameters are the model's aliases
        return ReviewResult.model_validate(await self._call("request_review", args, progress))

    async def list_sessions(self, status: str | None = None, limit: int = 50) -> SessionList:
        args: dict[str, Any] = {"limit": limit, **({"status": status} if status else {})}
        return SessionList.model_validate(await self._call("get_session_list", args))

    async def session_details(self, session_id: str) -> SessionDetails:
        return SessionDetails.model_validate(
            await self._call("get_session_details", {"sessionId": session_id})
        )

    async def resolve(self, session_id: str, feedback: str, by: VerdictSource) -> SessionDetails:
        # The daemon records it as given through MCP: that is the channel this relay serves.
        args = {"sessionId": session_id, "feedback": feedback}
        return SessionDetails.model_validate(await self._call("resolve_session", args))


class Relay:
    """Chooses, on first use, where the tools run: the daemon (started if needed) or, with
    autostart off and no daemon, this process."""

    def __init__(self, settings: Settings, *, autostart: bool, config_path: Path | None) -> None:
        self.settings = settings
        self.autostart = autostart
        self.config_path = config_path
        self.base_url = settings.server.loopback_url
        self.local = ReviewRuntime(settings)
        self._backend: ReviewBackend | None = None
        self._lock = asyncio.Lock()

    async def backend(self) -> ReviewBackend:
        async with self._lock:
            if isinstance(self._backend, DaemonBackend) and not await self._daemon_up():
                self._backend = None  # the daemon went away: find or start it again
            if self._backend is None:
                self._backend = await self._choose()
            return self._backend

    async def _choose(self) -> ReviewBackend:
        timeout = self.settings.review.round_timeout_s + 60
        if await self._daemon_up():
            return DaemonBackend(self.base_url, timeout)
        if not self.autostart:
            log.info(
                "no daemon at %s and autostart is off: reviewing in this process", self.base_url
            )
            return await self.local.service()
        self._spawn_daemon()
        deadline = time.monotonic() + DAEMON_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if await self._daemon_up():
                return DaemonBackend(self.base_url, timeout)
            await asyncio.sleep(0.1)
        raise DaemonUnavailable(
            f"the brainrouter daemon did not start within {DAEMON_START_TIMEOUT_S:.0f}s; "
            f"see {self.log_file()} (or run `brainrouter serve` yourself)"
        )

    async def _daemon_up(self) -> bool:
        import httpx

        try:
            async with httpx.AsyncClient(timeout=1.0) as client:
                response = await client.get(f"{self.base_url}/health")
            return response.status_code == 200 and response.json().get("service") == "brainrouter"
        except (httpx.HTTPError, ValueError):
            return False

    def log_file(self) -> Path:
        return user_log_path("brainrouter") / "daemon.log"

    def _spawn_daemon(self) -> None:
        command = [sys.executable, "-m", "mcp_server", "serve"]
        if self.config_path is not None:
            command += ["--config", str(self.config_path)]
        log_file = self.log_file()
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log.info("starting the brainrouter daemon: %s (log: %s)", " ".join(command), log_file)
        with open(log_file, "ab") as out:
            # A session of its own: the daemon outlives the harness that started it.
            subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
                cwd=os.path.expanduser("~"),
                env=os.environ.copy(),
            )

    async def aclose(self) -> None:
        await self.local.aclose()
