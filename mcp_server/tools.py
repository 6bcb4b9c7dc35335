"""The MCP tools agents call. Each is a thin, typed shell over the review service."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Protocol

from fastmcp import Context, FastMCP
from fastmcp.exceptions import ToolError
from pydantic import Field

from review.errors import ReviewError
from review.request import ProgressFn, ReviewRequest
from review.results import (
    ReviewResult,
    SessionDetails,
    SessionList,
    SessionStatus,
    details_for_tool,
    fit_for_tool,
)
from review.status import VerdictSource


class ReviewBackend(Protocol):
    """What the tools call: the review service in this process, or the daemon (relay.py)."""

    async def request_review(
        self,
        request: ReviewRequest,
        progress: ProgressFn | None = None,
        asker_uid: int | None = None,
    ) -> ReviewResult: ...

    async def list_sessions(self, status: str | None = None, limit: int = 50) -> SessionList: ...

    async def session_details(self, session_id: str) -> SessionDetails: ...

    async def resolve(
        self, session_id: str, feedback: str, by: VerdictSource
    ) -> SessionDetails: ...


# The backend (database, git, HTTP clients) is made on first use, so that a stdio server
# answers `initialize` at once.
ServiceGetter = Callable[[], Awaitable[ReviewBackend]]

INSTRUCTIONS = """\
brainrouter reviews your work before you call a task done.
After finishing a task, call request_review with a taskId (e.g. feature-20260424-001), a 2-3
sentence summary and cwd (the project's absolute path). If the status is needs_revision, fix
every blocking finding and call request_review again with the SAME taskId. Repeat until
approved. If the status is escalated, stop and tell the user: a human decides on the web page.
"""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("brainrouter")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree not installed
        return "0+unknown"


# The uid of the local process behind an HTTP request's client address, when known.
Asker = Callable[[Any], int | None]


def build_mcp(
    get_service: ServiceGetter, *, default_cwd: str | None = None, asker: Asker | None = None
) -> FastMCP:
    """The MCP server. `default_cwd` fills in `cwd` when an agent leaves it out (stdio only:
    a stdio server runs in the harness's project directory). `asker` tells, over HTTP, which
    local user is calling: a review runs only on a directory they may read."""
    mcp: FastMCP = FastMCP("brainrouter", instructions=INSTRUCTIONS, version=_version())

    @mcp.tool(annotations={"title": "Request a code review", "openWorldHint": True})
    async def request_review(
        taskId: Annotated[
            str,
            Field(
                description="Stable id of this task, e.g. feature-20260424-001. Reuse it for every round of the same task."
            ),
        ],
        summary: Annotated[
            str,
            Field(
                description="2-3 sentences: what changed, why, and any assumptions. On later rounds, what you fixed."
            ),
        ],
        ctx: Context,
        cwd: Annotated[
            str | None,
            Field(
                description="Absolute path of the project root (a git work tree). Strongly recommended."
            ),
        ] = None,
        details: Annotated[
            str | None,
            Field(description="Optional extra context: changed files, trade-offs, security notes."),
        ] = None,
        conversationHistory: Annotated[
            list[str] | None, Field(description="Optional recent conversation, oldest first.")
        ] = None,
    ) -> ReviewResult:
        """Ask for a review of your uncommitted work (git diff HEAD plus untracked files) against
        the project's PRD and AGENTS.md. Runs exactly one review round. If the result is
        needs_revision: fix every blocking finding and call again with the same taskId. If
        approved: the task is done. If escalated: stop and tell the user to resolve it at
        review_url."""
        service = await get_service()
        try:
            request = ReviewRequest.of(
                task_id=taskId,
                summary=summary,
                cwd=cwd or default_cwd or "",
                details=details,
                conversation_history=list(conversationHistory or []),
            )
        except ReviewError as exc:
            raise ToolError(exc.tool_message()) from None

        async def progress(done: float, total: float | None, message: str) -> None:
            await ctx.report_progress(progress=done, total=total, message=message)

        try:
            return fit_for_tool(await service.request_review(request, progress, _uid(asker)))
        except ReviewError as exc:
            raise ToolError(exc.tool_message()) from None

    @mcp.tool(annotations={"title": "List review sessions", "readOnlyHint": True})
    async def get_session_list(
        status: Annotated[
            SessionStatus | None, Field(description="Only sessions in this state.")
        ] = None,
        limit: Annotated[
            int, Field(ge=1, le=500, description="At most this many, newest first.")
        ] = 50,
    ) -> SessionList:
        """List review sessions, most recently updated first."""
        service = await get_service()
        try:
            return await service.list_sessions(status=status, limit=limit)
        except ReviewError as exc:
            raise ToolError(exc.tool_message()) from None

    @mcp.tool(annotations={"title": "Show one review session", "readOnlyHint": True})
    async def get_session_details(
        sessionId: Annotated[
            str, Field(description="The session_id (or the taskId) of a review session.")
        ],
    ) -> SessionDetails:
        """Full history of one review session: every round's summary, verdict, feedback and
        findings, and a human's verdict if one was given."""
        service = await get_service()
        try:
            return details_for_tool(await service.session_details(sessionId))
        except ReviewError as exc:
            raise ToolError(exc.tool_message()) from None

    @mcp.tool(
        annotations={
            "title": "Relay the user's verdict on an escalated review",
            "destructiveHint": True,
        }
    )
    async def resolve_session(
        sessionId: Annotated[str, Field(description="The session_id (or the taskId) to resolve.")],
        feedback: Annotated[
            str,
            Field(
                description="The user's own words: 'lgtm', 'ok', 'approved', 'looks good' or 'ship it' approve; any other text asks for that revision."
            ),
        ],
    ) -> SessionDetails:
        """Relay a HUMAN's verdict on an ESCALATED review session, word for word, after the
        user gave it to you in this conversation. Never call it on your own initiative and
        never to approve your own work: it works only on escalated sessions (the reviewer
        decides all others), your harness asks the user before it runs, and the verdict is
        recorded as given through MCP. The user can also resolve on the session page."""
        service = await get_service()
        try:
            return details_for_tool(await service.resolve(sessionId, feedback, VerdictSource.MCP))
        except ReviewError as exc:
            raise ToolError(exc.tool_message()) from None

    return mcp


def _uid(asker: Asker | None) -> int | None:
    if asker is None:
        return None
    from fastmcp.server.dependencies import get_http_request

    try:
        return asker(get_http_request().client)
    except RuntimeError:  # not over HTTP (stdio, in memory): the caller is this process's user
        return None


def process_cwd() -> str:
    return os.getcwd()
