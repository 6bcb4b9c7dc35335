"""The review loop: one round per request_review call, sessions kept in the store.

A round is: reserve the next iteration (one short write transaction), gather the project's
context, ask the reviewer (outside any transaction, under the round's time limit, with
progress reports), then record the verdict and the session's new state (a second short
transaction). A round cut off by cancellation is recorded as interrupted, never lost.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import anyio
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from review import context as context_mod
from review.ask import RoundOutcome, ask_reviewer
from review.errors import ReviewInputError
from review.models import (
    APPROVED,
    ESCALATED,
    NEEDS_REVISION,
    PENDING,
    ROUND_ERROR,
    ROUND_INTERRUPTED,
    ROUND_RUNNING,
    ReviewRound,
    ReviewSession,
    utcnow,
)
from review.prompt import BuiltPrompt, build_prompt
from review.request import ProgressFn, ReviewRequest
from review.results import NEXT_STEPS, ReviewResult, SessionDetails, SessionList, SkippedFileOut
from review.reviewer import Reviewer, ReviewerError
from review.rows import details_of, find_session, session_out
from review.runtime_config import ReviewConfigStore
from review.settings import ReviewSettings
from review.store import Store
from review.verdict import Finding, Verdict, human_verdict

log = logging.getLogger("brainrouter.review")

ReviewerFactory = Callable[[Literal["local", "cloud"], str | None], Reviewer]
# A diff this large is reviewed in the cloud in auto mode, whatever the task says: a small local
# model misses problems spread over many files.
LARGE_DIFF_TOKENS = 4000
AutoDecider = Callable[[BuiltPrompt], Awaitable[Literal["local", "cloud"]]]


@dataclass
class _Reserved:
    session: ReviewSession
    round: ReviewRound | None
    previous_feedback: str | None
    human_feedback: str | None
    early: ReviewResult | None = None


class ReviewService:
    def __init__(
        self,
        store: Store,
        settings: ReviewSettings,
        reviewers: ReviewerFactory,
        *,
        public_url: str = "http://127.0.0.1:9099",
        auto_decider: AutoDecider | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.public_url = public_url.rstrip("/")
        self.config = ReviewConfigStore(store, settings)
        self._reviewers = reviewers
        self._auto_decider = auto_decider
        self._inflight: set[str] = set()  # round ids running in this process

    def session_url(self, session_id: str) -> str:
        return f"{self.public_url}/review/session/{session_id}"

    # ----------------------------------------------------------------- request_review
    async def request_review(
        self, request: ReviewRequest, progress: ProgressFn | None = None
    ) -> ReviewResult:
        request.validate()
        started = time.monotonic()
        report = progress or _no_progress
        await report(0, self.settings.round_timeout_s, "gathering the project's context")
        try:
            project = await anyio.to_thread.run_sync(context_mod.gather, request.cwd)
        except context_mod.ContextError as exc:
            raise ReviewInputError(str(exc)) from exc
        reserved = await anyio.to_thread.run_sync(self._reserve, request, str(project.root))
        if reserved.early is not None:
            return reserved.early
        session, round_row = reserved.session, reserved.round
        assert round_row is not None
        self._inflight.add(round_row.id)
        try:
            built = build_prompt(
                request,
                project,
                iteration=session.iteration,
                max_iterations=session.max_iterations,
                budget_tokens=self.settings.context_budget_tokens,
                previous_feedback=reserved.previous_feedback,
                human_feedback=reserved.human_feedback,
                template_override=self.settings.prompt_template,
            )
            context_ms = int((time.monotonic() - started) * 1000)
            outcome = await self._run_reviewer(built, report, started)
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

    def interrupt_inflight(self) -> int:
        """Record every round still running in this process as interrupted (shutdown)."""
        rounds = list(self._inflight)
        for round_id in rounds:
            self._mark_interrupted(round_id)
        return len(rounds)

    def _reserve(self, request: ReviewRequest, project_dir: str) -> _Reserved:
        try:
            return self._reserve_once(request, project_dir)
        except IntegrityError:
            # Another process created this task's session at the same moment: use it.
            return self._reserve_once(request, project_dir)

    def _reserve_once(self, request: ReviewRequest, project_dir: str) -> _Reserved:
        with self.store.transaction() as db:
            session = db.exec(
                select(ReviewSession)
                .where(ReviewSession.task_id == request.task_id)
                .with_for_update()
            ).first()
            if session is None:
                session = ReviewSession(
                    id=uuid.uuid4().hex[:16],
                    task_id=request.task_id,
                    project_dir=project_dir,
                    max_iterations=self.settings.max_iterations,
                )
                db.add(session)
                db.flush()
            if session.human_verdict == APPROVED and session.status == APPROVED:
                return _Reserved(
                    session, None, None, None, early=self._result_from_session(db, session)
                )
            if session.status == ESCALATED:
                return _Reserved(
                    session, None, None, None, early=self._result_from_session(db, session)
                )
            last = self._last_round(db, session.id)
            if last is not None and last.status == ROUND_RUNNING:
                age = utcnow() - last.started_at
                if age < timedelta(seconds=self.settings.round_timeout_s + 60):
                    raise ReviewInputError(
                        f"a review round for taskId {request.task_id!r} is already running "
                        f"(round {last.iteration}); wait for its result before calling again"
                    )
                last.status, last.error = (
                    ROUND_INTERRUPTED,
                    "the process running this round stopped",
                )
                db.add(last)
            human = session.human_feedback if session.human_verdict == NEEDS_REVISION else None
            session.iteration += 1
            session.status = PENDING
            session.project_dir = project_dir
            session.updated_at = utcnow()
            round_row = ReviewRound(
                id=uuid.uuid4().hex,
                session_id=session.id,
                iteration=session.iteration,
                summary=request.summary,
                details=request.details,
                conversation_history=list(request.conversation_history),
                human_feedback=human,
            )
            db.add(session)
            db.add(round_row)
            previous = last.feedback if last is not None and last.status == NEEDS_REVISION else None
            return _Reserved(session, round_row, previous, human)

    # ------------------------------------------------------------------ the reviewer
    async def _choose_reviewer(self, built: BuiltPrompt) -> Reviewer:
        mode, local_model = await anyio.to_thread.run_sync(self.config.get)
        if mode == "auto":
            available = self.config.available_reviewers()
            if len(available) == 1:
                mode = available[0]
            elif self._auto_decider is not None:
                mode = await self._auto_decider(built)
            else:
                mode = "cloud" if built.fitted.tokens > LARGE_DIFF_TOKENS else "local"
        return self._reviewers(mode, local_model if mode == "local" else None)

    async def _run_reviewer(
        self, built: BuiltPrompt, report: ProgressFn, started: float
    ) -> RoundOutcome:
        try:
            reviewer = await self._choose_reviewer(built)
        except ReviewerError as exc:
            return RoundOutcome(error=str(exc))
        return await ask_reviewer(reviewer, built.text, self.settings, report, started)

    # ----------------------------------------------------------------- recording
    def _finish(
        self, session_id: str, round_id: str, built: BuiltPrompt, outcome: RoundOutcome
    ) -> ReviewResult:
        with self.store.transaction() as db:
            session = db.get(ReviewSession, session_id, with_for_update=True)
            row = db.get(ReviewRound, round_id)
            assert session is not None and row is not None
            row.context_summary = built.summary
            row.skipped_files = [s.as_dict() for s in built.skipped]
            row.prompt_chars, row.prompt_tokens = len(built.text), built.tokens
            row.reviewer, row.model = outcome.reviewer, outcome.model
            row.raw_answer = "\n\n----- retry -----\n\n".join(outcome.raw_answers) or None
            row.attempts = outcome.attempts
            row.finished_at = utcnow()
            row.context_ms, row.llm_ms, row.total_ms = (
                outcome.context_ms,
                outcome.llm_ms,
                outcome.total_ms,
            )
            session.reviewer = outcome.reviewer
            if outcome.verdict is None:
                row.status, row.error = ROUND_ERROR, outcome.error or "the reviewer gave no verdict"
                session.status = ESCALATED
                session.escalation_reason = f"reviewer error: {row.error}"
            else:
                verdict = outcome.verdict
                row.status, row.feedback = verdict.status, verdict.feedback
                row.findings = [f.model_dump() for f in verdict.findings]
                session.status = verdict.status
                session.escalation_reason = None
                if verdict.status == APPROVED:
                    session.human_verdict = None
                elif self._judged_rounds(db, session) >= session.max_iterations:
                    session.status = ESCALATED
                    session.escalation_reason = f"no approval after {session.max_iterations} rounds"
            session.updated_at = utcnow()
            db.add(row)
            db.add(session)
            return self._result(session, row)

    def _mark_interrupted(self, round_id: str) -> None:
        with self.store.transaction() as db:
            row = db.get(ReviewRound, round_id)
            if row is not None and row.status == ROUND_RUNNING:
                row.status, row.error, row.finished_at = ROUND_INTERRUPTED, "interrupted", utcnow()
                db.add(row)
                session = db.get(ReviewSession, row.session_id)
                if session is not None and session.status == PENDING:
                    # The round gave no verdict and does not count towards escalation.
                    session.status = NEEDS_REVISION if row.iteration > 1 else PENDING
                    session.updated_at = utcnow()
                    db.add(session)

    def _result(self, session: ReviewSession, row: ReviewRound | None) -> ReviewResult:
        url = self.session_url(session.id)
        if session.status == ESCALATED:
            reason = session.escalation_reason or "escalated to a human"
            feedback = f"Escalated to a human reviewer ({reason})."
            if row is not None and row.feedback:
                feedback += f"\n\nLast reviewer feedback:\n{row.feedback}"
        elif session.human_verdict and row is None:
            feedback = session.human_feedback or ""
        else:
            feedback = (row.feedback if row is not None else None) or ""
        reviewer = "human" if session.human_verdict and row is None else session.reviewer
        return ReviewResult(
            session_id=session.id,
            task_id=session.task_id,
            status=session.status,  # type: ignore[arg-type]
            feedback=feedback,
            findings=[Finding.model_validate(f) for f in (row.findings if row is not None else [])],
            iteration=session.iteration,
            max_iterations=session.max_iterations,
            reviewer=reviewer,
            model=row.model if row is not None else None,
            skipped_files=[
                SkippedFileOut(**s) for s in (row.skipped_files if row is not None else [])
            ],
            review_url=url,
            next_step=NEXT_STEPS[session.status].format(url=url),
        )

    def _result_from_session(self, db: Session, session: ReviewSession) -> ReviewResult:
        result = self._result(session, None)
        last = self._last_round(db, session.id)
        if session.status == ESCALATED and last is not None and last.feedback:
            result.feedback += f"\n\nLast reviewer feedback:\n{last.feedback}"
        return result

    @staticmethod
    def _judged_rounds(db: Session, session: ReviewSession) -> int:
        """Rounds with a verdict since the last human decision (interrupted ones don't count)."""
        return len(
            db.exec(
                select(ReviewRound.id).where(
                    ReviewRound.session_id == session.id,
                    ReviewRound.iteration > session.human_iteration,
                    col(ReviewRound.status).in_([APPROVED, NEEDS_REVISION]),
                )
            ).all()
        )

    @staticmethod
    def _last_round(db: Session, session_id: str) -> ReviewRound | None:
        return db.exec(
            select(ReviewRound)
            .where(ReviewRound.session_id == session_id)
            .order_by(col(ReviewRound.iteration).desc())
        ).first()

    # ------------------------------------------------------------- sessions, resolve
    async def list_sessions(self, status: str | None = None, limit: int = 50) -> SessionList:
        return await anyio.to_thread.run_sync(self._list_sessions, status, limit)

    def _list_sessions(self, status: str | None, limit: int) -> SessionList:
        with self.store.transaction() as db:
            query = select(ReviewSession)
            if status:
                query = query.where(ReviewSession.status == status)
            rows = db.exec(query.order_by(col(ReviewSession.updated_at).desc()).limit(limit)).all()
            total = len(rows)
            if total == limit:
                total = db.exec(select(func.count()).select_from(query.subquery())).one()
            return SessionList(
                sessions=[session_out(r, self.session_url(r.id)) for r in rows], total=total
            )

    async def session_details(self, session_id: str) -> SessionDetails:
        return await anyio.to_thread.run_sync(self._details, session_id)

    def _details(self, key: str) -> SessionDetails:
        with self.store.transaction() as db:
            session = find_session(db, key)
            rounds = db.exec(
                select(ReviewRound)
                .where(ReviewRound.session_id == session.id)
                .order_by(col(ReviewRound.iteration))
            ).all()
            return details_of(session, list(rounds), self.session_url(session.id))

    async def resolve(self, session_id: str, feedback: str) -> SessionDetails:
        try:
            verdict = human_verdict(feedback)
        except ValueError as exc:
            raise ReviewInputError(str(exc)) from exc
        return await anyio.to_thread.run_sync(self._resolve, session_id, verdict)

    def _resolve(self, key: str, verdict: Verdict) -> SessionDetails:
        with self.store.transaction() as db:
            session = find_session(db, key)
            session.status = verdict.status
            session.human_verdict = verdict.status
            session.human_feedback = verdict.feedback
            session.human_iteration = session.iteration
            session.reviewer = "human"
            session.escalation_reason = None
            session.updated_at = utcnow()
            db.add(session)
        return self._details(session.id)


async def _no_progress(_progress: float, _total: float | None, _message: str) -> None:
    return None
