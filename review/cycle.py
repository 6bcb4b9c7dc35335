"""A round's place in its session: reserving the next iteration in one short write
transaction, and interrupting a round that gave no verdict.

Cycles: an approval covers the exact diff it saw (asking again with the same diff returns it
with no round); a changed diff after an approval starts a new cycle; an escalated session
waits for a human; a round still running (its process alive, within its time limit) refuses a
second call for the same task; a human's "needs revision" given in this cycle goes into the
next round's prompt."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import ParamSpec

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from review import owner, rows
from review.errors import ReviewInputError
from review.models import ReviewRound, ReviewSession, utcnow
from review.request import ReviewRequest
from review.results import ReviewResult
from review.settings import ReviewSettings
from review.status import RoundStatus, SessionStatus
from review.store import Store

_P = ParamSpec("_P")
APPROVED, NEEDS_REVISION = SessionStatus.APPROVED, SessionStatus.NEEDS_REVISION
ESCALATED, PENDING = SessionStatus.ESCALATED, SessionStatus.PENDING


@dataclass
class Reserved:
    session: ReviewSession
    round: ReviewRound | None  # None: no round runs (`early` is the answer)
    previous_feedback: str | None
    human_feedback: str | None
    early: ReviewResult | None = None


def interrupt(db: Session, row: ReviewRound, why: str) -> None:
    """A round that gave no verdict: it does not count towards escalation."""
    row.status, row.error, row.finished_at = RoundStatus.INTERRUPTED, why, utcnow()
    db.add(row)
    session = db.get(ReviewSession, row.session_id)
    if session is not None and session.status == PENDING:
        session.status = NEEDS_REVISION if row.iteration > 1 else PENDING
        session.updated_at = utcnow()
        db.add(session)


def _again_on_conflict(reserve_once: Callable[_P, Reserved]) -> Callable[_P, Reserved]:
    @functools.wraps(reserve_once)
    def reserve(*args: _P.args, **kwargs: _P.kwargs) -> Reserved:
        try:
            return reserve_once(*args, **kwargs)
        except IntegrityError:
            # Another process created this task's session at the same moment: use it.
            return reserve_once(*args, **kwargs)

    return reserve


@_again_on_conflict
def reserve(
    store: Store,
    settings: ReviewSettings,
    request: ReviewRequest,
    project_dir: str,
    fingerprint: str,
    session_url: Callable[[str], str],
) -> Reserved:
    """The next round of `request`'s task, or the answer that stands without one."""
    with store.transaction() as db:
        session = db.exec(
            select(ReviewSession).where(ReviewSession.task_id == request.task_id).with_for_update()
        ).first()
        if session is None:
            session = ReviewSession(
                id=uuid.uuid4().hex[:16],
                task_id=request.task_id,
                project_dir=project_dir,
                max_iterations=settings.max_iterations,
            )
            db.add(session)
            db.flush()
        if session.status == ESCALATED or (
            session.status == APPROVED and session.approved_fingerprint == fingerprint
        ):
            # Escalated: only a human moves it on. Approved: that approval covers this diff.
            standing = rows.standing_result(db, session, session_url(session.id))
            return Reserved(session, None, None, None, early=standing)
        if session.status == APPROVED:
            # The agent changed its work after an approval: a new cycle of rounds.
            session.cycle_start = session.iteration
        last = rows.last_round(db, session.id)
        if last is not None and last.status == RoundStatus.RUNNING:
            age = utcnow() - last.started_at
            if not owner.gone(last.owner) and age < timedelta(
                seconds=settings.round_timeout_s + 60
            ):
                raise ReviewInputError(
                    f"a review round for taskId {request.task_id!r} is already running "
                    f"(round {last.iteration}); wait for its result before calling again"
                )
            interrupt(db, last, "the process running this round stopped")
        human = (
            session.human_feedback
            if session.human_verdict == NEEDS_REVISION
            and session.human_iteration >= session.cycle_start
            else None
        )
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
            owner=str(owner.current()),
            fingerprint=fingerprint,
        )
        db.add(session)
        db.add(round_row)
        previous = last.feedback if last is not None and last.status == NEEDS_REVISION else None
        return Reserved(session, round_row, previous, human)
