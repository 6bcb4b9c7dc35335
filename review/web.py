"""The human side of the review loop: HTML pages and the review HTTP API (same semantics as the
MCP tools). Everything agents and LLMs wrote is untrusted: Jinja2 autoescapes all of it."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import anyio
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field

from review.diffview import RoundDiff, stylesheet, view
from review.errors import ReviewError, ReviewUnavailable
from review.loop import ReviewService
from review.request import ReviewRequest
from review.results import ReviewResult, SessionDetails, SessionList, SessionStatus
from review.settings import ReviewMode
from review.status import VerdictSource

# Who may give a human verdict over the API: a caller holding the daemon's admin token.
TokenCheck = Callable[[Request], bool]

ServiceGetter = Callable[[], Awaitable[ReviewService]]
T = TypeVar("T")
_TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


_PYGMENTS_CSS = stylesheet()


def _round_views(details: SessionDetails) -> dict[int, RoundDiff | None]:
    """Each round's diff, compared with the round before it that has one."""
    views: dict[int, RoundDiff | None] = {}
    previous: str | None = None
    for r in details.rounds:
        views[r.iteration] = view(r.diff, r.findings, previous) if r.diff else None
        previous = r.diff or previous
    return views


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ResolveBody(_Body):
    session_id: str = Field(alias="sessionId", min_length=1)
    feedback: str = Field(min_length=1)


class ContinueBody(_Body):
    session_id: str = Field(alias="sessionId", min_length=1)
    summary: str = "Continuing the review after changes."
    details: str | None = None
    cwd: str | None = None


class LgtmBody(_Body):
    session_id: str = Field(alias="sessionId", min_length=1)


class ReviewConfigBody(_Body):
    mode: ReviewMode
    local_model: str | None = Field(default=None, alias="localModel", max_length=256)


class ReviewConfigOut(BaseModel):
    mode: ReviewMode
    local_model: str | None
    available_reviewers: list[str]


def review_router(
    get_service: ServiceGetter,
    csrf_token: str,
    has_admin_token: TokenCheck,
    asker: Callable[[Request], int | None] = lambda _request: None,
) -> APIRouter:
    router = APIRouter(prefix="/review")

    def require_admin(request: Request) -> None:
        if not has_admin_token(request):
            raise HTTPException(
                401,
                "a human verdict over the API needs the admin token (header x-brainrouter-token; "
                "see `brainrouter token`), or resolve on the session page or with "
                "`brainrouter resolve`",
            )

    async def run(call: Awaitable[T]) -> T:
        try:
            return await call
        except ReviewUnavailable as exc:
            headers = {"retry-after": str(exc.retry_after_s)}
            raise HTTPException(exc.http_status, str(exc), headers=headers) from None
        except ReviewError as exc:
            raise HTTPException(exc.http_status, str(exc)) from None

    # ------------------------------------------------------------------ JSON API
    @router.get("/api/sessions")
    async def api_sessions(status: SessionStatus | None = None, limit: int = 50) -> SessionList:
        if not 1 <= limit <= 1000:
            raise HTTPException(422, "limit must be between 1 and 1000")
        return await (await get_service()).list_sessions(status=status, limit=limit)

    @router.get("/api/sessions/{session_id}")
    async def api_session(session_id: str) -> SessionDetails:
        return await run((await get_service()).session_details(session_id))

    @router.post("/api/request")
    async def api_request(request: Request, body: ReviewRequest) -> ReviewResult:
        service = await get_service()
        return await run(service.request_review(body, asker_uid=asker(request)))

    @router.post("/api/continue")
    async def api_continue(http: Request, body: ContinueBody) -> ReviewResult:
        service = await get_service()
        session = await run(service.session_details(body.session_id))
        cwd = body.cwd or session.project_dir
        if not cwd:
            raise HTTPException(422, "this session has no project folder on record: pass cwd")
        try:
            request = ReviewRequest.of(
                task_id=session.task_id, summary=body.summary, cwd=cwd, details=body.details
            )
        except ReviewError as exc:
            raise HTTPException(exc.http_status, str(exc)) from None
        return await run(service.request_review(request, asker_uid=asker(http)))

    @router.post("/api/resolve")
    async def api_resolve(request: Request, body: ResolveBody) -> SessionDetails:
        require_admin(request)
        service = await get_service()
        return await run(service.resolve(body.session_id, body.feedback, VerdictSource.TOKEN))

    @router.post("/api/lgtm")
    async def api_lgtm(request: Request, body: LgtmBody) -> SessionDetails:
        require_admin(request)
        service = await get_service()
        return await run(service.resolve(body.session_id, "lgtm", VerdictSource.TOKEN))

    # --------------------------------------------------------------------- pages
    @router.get("/", response_class=HTMLResponse)
    async def page_sessions(request: Request, status: str | None = None) -> HTMLResponse:
        if status not in (None, "", *SessionStatus):
            raise HTTPException(422, f"unknown status {status!r}")
        listing = await (await get_service()).list_sessions(status=status or None, limit=200)
        return _TEMPLATES.TemplateResponse(
            request,
            "sessions.html",
            {
                "listing": listing,
                "status": status or "",
                "statuses": [s.value for s in SessionStatus],
            },
        )

    @router.get("/session/{session_id}", response_class=HTMLResponse)
    async def page_session(request: Request, session_id: str) -> HTMLResponse:
        details = await run((await get_service()).session_details(session_id))
        views = await anyio.to_thread.run_sync(_round_views, details)
        return _TEMPLATES.TemplateResponse(
            request,
            "session.html",
            {
                "s": details,
                "csrf_token": csrf_token,
                "views": views,
                "pygments_css": _PYGMENTS_CSS,
            },
        )

    @router.post("/session/{session_id}/resolve")
    async def page_resolve(
        session_id: str,
        feedback: Annotated[str, Form()] = "",
        csrf: Annotated[str, Form(alias="csrf_token")] = "",
    ) -> RedirectResponse:
        if not hmac.compare_digest(csrf.encode(), csrf_token.encode()):
            raise HTTPException(403, "invalid or missing CSRF token: reload the page and try again")
        await run((await get_service()).resolve(session_id, feedback, VerdictSource.PAGE))
        return RedirectResponse(f"/review/session/{session_id}", status_code=303)

    return router


def review_config_router(get_service: ServiceGetter) -> APIRouter:
    """GET|POST /api/review-config: the review mode in force (R7), kept across restarts."""
    router = APIRouter(prefix="/api")

    async def current(service: ReviewService) -> ReviewConfigOut:
        mode, local_model = await anyio.to_thread.run_sync(service.config.get)
        return ReviewConfigOut(
            mode=mode,
            local_model=local_model,
            available_reviewers=list(service.reviewers.available()),
        )

    @router.get("/review-config")
    async def get_config() -> ReviewConfigOut:
        return await current(await get_service())

    @router.post("/review-config")
    async def set_config(body: ReviewConfigBody) -> ReviewConfigOut:
        service = await get_service()
        await anyio.to_thread.run_sync(service.config.set, body.mode, body.local_model)
        return await current(service)

    return router
