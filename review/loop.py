"""The review loop: one round per request_review call, sessions kept in the store.

A round is: gather the project's context, reserve the next iteration (one short write
transaction), ask the reviewer (outside any transaction, under the round's time limit, with
progress reports), then record the verdict and the session's new state (a second short
transaction). A round cut off by cancellation is recorded as interrupted, never lost; a round
whose process died is interrupted as soon as that is known (review/owner.py).

Cycles (reserving a round: review/cycle.py): up to max_iterations judged rounds without
approval escalate to a human. An approval covers the exact diff it saw: asking again with the
same diff returns it without a round; asking with a changed diff starts a new cycle. A human's
verdict also starts a new cycle, and wins over a round that was running when it was given (the
round is kept in the history).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Literal

import anyio
from sqlmodel import Session, select

from review import context as context_mod
from review import cycle, escalation, human, owner, rows
from review.ask import RoundOutcome, ask_reviewer
from review.cycle import Reserved
from review.errors import ReviewInputError, ReviewUnavailable
from review.escalation import RouteHooks
from review.models import ReviewRound, ReviewSession, utcnow
from review.prompt import BuiltPrompt, build_prompt
from review.request import ProgressFn, ReviewRequest
from review.results import ReviewResult, SessionDetails, SessionList
from review.reviewer import Reviewer, ReviewerError, Reviewers
from review.rows import find_session
from review.runtime_config import ReviewConfigStore
from review.settings import ReviewSettings
from review.status import RoundStatus, SessionStatus, VerdictSource
from review.store import Store
from review.verdict import Verdict, human_verdict

APPROVED, NEEDS_REVISION = SessionStatus.APPROVED, SessionStatus.NEEDS_REVISION
ESCALATED, PENDING = SessionStatus.ESCALATED, SessionStatus.PENDING

log = logging.getLogger("brainrouter.review")

# A diff this large is reviewed in the cloud in auto mode, whatever the task says: a small local
# model misses problems spread over many files.
LARGE_DIFF_TOKENS = 4000
AutoDecider = Callable[[BuiltPrompt], Awaitable[Literal["local", "cloud"]]]


class ReviewService:
    def __init__(
        self,
        store: Store,
        settings: ReviewSettings,
        reviewers: Reviewers,
        *,
        public_url: str = "http://127.0.0.1:9099",
        auto_decider: AutoDecider | None = None,
        route_hooks: RouteHooks | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.public_url = public_url.rstrip("/")
        self.config = ReviewConfigStore(store, settings)
        self.reviewers = reviewers
        self._auto_decider = auto_decider
        self.route_hooks = route_hooks
        self._inflight: set[str] = set()  # round ids running in this process
        self._stopping = asyncio.Event()  # set when the process begins to stop

    def session_url(self, session_id: str) -> str:
        return f"{self.public_url}/review/session/{session_id}"

    # ----------------------------------------------------------------- request_review
    async def request_review(
        self,
        request: ReviewRequest,
        progress: ProgressFn | None = None,
        asker_uid: int | None = None,
    ) -> ReviewResult:
        """One review round. `asker_uid`: the local user who asked, when not this process's
        (the review runs only on a directory they may read)."""
        started = time.monotonic()
        report = progress or _no_progress
        await report(0, self.settings.round_timeout_s, "gathering the project's context")
        try:
            project = await anyio.to_thread.run_sync(context_mod.gather, request.cwd, asker_uid)
        except context_mod.ContextError as exc:
            raise ReviewInputError(str(exc)) from exc
        reserved = await anyio.to_thread.run_sync(
            self._reserve, request, str(project.root), project.fingerprint
        )
        if reserved.early is not None:
            return reserved.early
        session, round_row = reserved.session, reserved.round
        assert round_row is not None
        self._inflight.add(round_row.id)
        try:
            built = build_prompt(
                request,
                project,
                iteration=session.iteration - session.cycle_start,
                max_iterations=session.max_iterations,
                budget_tokens=self.settings.context_budget_tokens,
                previous_feedback=reserved.previous_feedback,
                human_feedback=reserved.human_feedback,
                template_override=self.settings.prompt_template,
                escalate_marker=self.settings.escalate_marker
                if self.settings.escalate_after
                else "",
            )
            context_ms = int((time.monotonic() - started) * 1000)
            outcome = await self._unless_stopping(
                self._run_reviewer(built, report, started, session)
            )
            if built.redactions:
                log.info(
                    "review of %s: %d secret(s) redacted before the reviewer saw them",
                    request.task_id,
                    sum(built.redactions.values()),
                )
            outcome.context_ms = context_ms
            outcome.total_ms = int((time.monotonic() - started) * 1000)
            return await anyio.to_thread.run_sync(
                self._finish, session.id, round_row.id, built, outcome
            )
        except BaseException:
            log.warning("review round %d of %s interrupted", round_row.iteration, request.task_id)
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._mark_interrupted, round_row.id)
            raise
        finally:
            self._inflight.discard(round_row.id)

    def begin_shutdown(self) -> None:
        """The process is stopping: rounds in flight end now with a retryable error."""
        self._stopping.set()

    async def _unless_stopping(self, work: Awaitable[RoundOutcome]) -> RoundOutcome:
        round_task = asyncio.ensure_future(work)
        stop_task = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({round_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop_task.cancel()
            if not round_task.done():
                round_task.cancel()
        if round_task.cancelled() or not round_task.done():
            raise ReviewUnavailable(
                "the brainrouter daemon is stopping: this round was interrupted and does not "
                "count; call request_review again with the same taskId in a few seconds"
            )
        return round_task.result()

    def interrupt_inflight(self) -> int:
        """Record every round still running in this process as interrupted (shutdown)."""
        rounds = list(self._inflight)
        for round_id in rounds:
            self._mark_interrupted(round_id)
        return len(rounds)

    def recover_stranded(self) -> int:
        """Mark rounds whose process is gone (kill -9, crash) as interrupted; returns how many.
        Run at start, so the agent can continue at once instead of waiting out the time limit."""
        with self.store.transaction() as db:
            running = db.exec(
                select(ReviewRound).where(ReviewRound.status == RoundStatus.RUNNING)
            ).all()
            stranded = [r for r in running if owner.gone(r.owner)]
            for row in stranded:
                cycle.interrupt(db, row, "the process running this round died")
        if stranded:
            log.warning("marked %d review round(s) of dead processes as interrupted", len(stranded))
        return len(stranded)

    def _reserve(self, request: ReviewRequest, project_dir: str, fingerprint: str) -> Reserved:
        return cycle.reserve(
            self.store, self.settings, request, project_dir, fingerprint, self.session_url
        )

    # ------------------------------------------------------------------ the reviewer
    async def _choose_reviewer(self, built: BuiltPrompt, session: ReviewSession) -> Reviewer:
        mode, local_model = await anyio.to_thread.run_sync(self.config.get)
        available = self.reviewers.available()
        if mode == "auto":
            if not available:
                raise ReviewerError(self.reviewers.missing())
            if session.route_escalation and "cloud" in available:
                mode = "cloud"  # the reviewer rejected the local work: the rest is cloud's
            elif len(available) == 1:
                mode = available[0]
            elif self._auto_decider is not None:
                mode = await self._auto_decider(built)
            else:
                mode = "cloud" if built.fitted.tokens > LARGE_DIFF_TOKENS else "local"
        elif mode not in available:
            raise ReviewerError(f"review.mode is {mode}, but {self.reviewers.missing(mode)}")
        return self.reviewers.get(
            mode, local_model if mode == "local" else None, session.project_dir
        )

    async def _run_reviewer(
        self, built: BuiltPrompt, report: ProgressFn, started: float, session: ReviewSession
    ) -> RoundOutcome:
        try:
            reviewer = await self._choose_reviewer(built, session)
        except ReviewerError as exc:
            return RoundOutcome(error=str(exc))
        return await ask_reviewer(
            reviewer, built.text, self.settings, report, started, built.boundary
        )

    # ----------------------------------------------------------------- recording
    def _finish(
        self, session_id: str, round_id: str, built: BuiltPrompt, outcome: RoundOutcome
    ) -> ReviewResult:
        change = None
        with self.store.transaction() as db:
            session = db.get(ReviewSession, session_id, with_for_update=True)
            row = db.get(ReviewRound, round_id)
            assert session is not None and row is not None
            rows.fill_round(row, built, outcome)
            db.add(row)
            if session.human_verdict is not None and session.human_iteration >= row.iteration:
                # A human decided while this round ran: their word stands, the round is history.
                return self._result_from_session(db, session)
            session.reviewer = outcome.reviewer
            if outcome.verdict is None:
                session.status = ESCALATED
                session.escalation_reason = f"reviewer error: {row.error}"
                log.warning(
                    "review of %s round %d: reviewer error, escalated: %s",
                    session.task_id,
                    row.iteration,
                    row.error,
                )
            else:
                session.status = outcome.verdict.status
                session.escalation_reason = None
                if outcome.verdict.status == APPROVED:
                    session.human_verdict = None
                    session.approved_fingerprint = row.fingerprint
                elif rows.judged_rounds(db, session) >= session.max_iterations:
                    session.status = ESCALATED
                    session.escalation_reason = f"no approval after {session.max_iterations} rounds"
                    log.warning(
                        "review of %s escalated: %s", session.task_id, session.escalation_reason
                    )
                change = escalation.route_change(db, session, row, self.route_hooks, self.settings)
            session.updated_at = utcnow()
            db.add(session)
            result = self._result(session, row)
        if change is not None:
            change()  # stored first: the proxy acts on what the session records
        return result

    def _mark_interrupted(self, round_id: str) -> None:
        with self.store.transaction() as db:
            row = db.get(ReviewRound, round_id)
            if row is not None and row.status == RoundStatus.RUNNING:
                cycle.interrupt(db, row, "interrupted")

    def _result(self, session: ReviewSession, row: ReviewRound | None) -> ReviewResult:
        return rows.result_of(session, row, self.session_url(session.id))

    def _result_from_session(self, db: Session, session: ReviewSession) -> ReviewResult:
        return rows.standing_result(db, session, self.session_url(session.id))

    # ------------------------------------------------------------- sessions, resolve
    async def list_sessions(self, status: str | None = None, limit: int = 50) -> SessionList:
        return await anyio.to_thread.run_sync(self._list_sessions, status, limit)

    def _list_sessions(self, status: str | None, limit: int) -> SessionList:
        with self.store.transaction() as db:
            return rows.listing(db, status, limit, self.session_url)

    async def session_details(self, session_id: str) -> SessionDetails:
        return await anyio.to_thread.run_sync(self._details, session_id)

    def _details(self, key: str) -> SessionDetails:
        with self.store.transaction() as db:
            return rows.details(db, find_session(db, key), self.session_url)

    async def resolve(self, session_id: str, feedback: str, by: VerdictSource) -> SessionDetails:
        """Record a human's verdict given through `by` (see review/human.py for who may)."""
        try:
            verdict = human_verdict(feedback)
        except ValueError as exc:
            raise ReviewInputError(str(exc)) from exc
        return await anyio.to_thread.run_sync(self._resolve, session_id, verdict, by)

    def _resolve(self, key: str, verdict: Verdict, by: VerdictSource) -> SessionDetails:
        with self.store.transaction() as db:
            session = find_session(db, key, for_update=True)
            human.check_allowed(session, by, self.settings.mcp_resolve)
            human.record(db, session, verdict, by)
        log.info("session %s resolved %s by a human (%s)", session.task_id, verdict.status, by)
        escalation.human_decided(session, verdict.status, self.route_hooks)
        return self._details(session.id)


async def _no_progress(_progress: float, _total: float | None, _message: str) -> None:
    return None
