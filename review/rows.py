"""The queries of the review tables and the shapes callers receive from them (results.py
stays free of the ORM)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlmodel import Session, col, func, select

from review.errors import SessionNotFound
from review.models import HumanVerdict, ReviewRound, ReviewSession, utcnow
from review.results import (
    NEXT_STEPS,
    HumanVerdictOut,
    ReviewResult,
    RoundOut,
    SessionDetails,
    SessionList,
    SessionOut,
    SkippedFileOut,
)
from review.status import RoundStatus, SessionStatus
from review.verdict import Finding

if TYPE_CHECKING:
    from review.ask import RoundOutcome
    from review.prompt import BuiltPrompt

UrlOf = Callable[[str], str]


def round_out(row: ReviewRound) -> RoundOut:
    return RoundOut(
        iteration=row.iteration,
        status=row.status,
        summary=row.summary,
        details=row.details,
        human_feedback=row.human_feedback,
        feedback=row.feedback,
        findings=row.findings or [],
        reviewer=row.reviewer,
        model=row.model,
        error=row.error,
        skipped_files=row.skipped_files or [],
        context_summary=row.context_summary or {},
        prompt_tokens=row.prompt_tokens,
        raw_answer=row.raw_answer,
        started_at=(row.started_at),
        finished_at=(row.finished_at),
        llm_ms=row.llm_ms,
        total_ms=row.total_ms,
        diff=row.diff,
        redactions=row.redactions or {},
    )


def session_out(row: ReviewSession, review_url: str) -> SessionOut:
    return SessionOut(
        session_id=row.id,
        task_id=row.task_id,
        status=SessionStatus(row.status),
        iteration=row.iteration,
        cycle_round=row.iteration - row.cycle_start,
        max_iterations=row.max_iterations,
        project_dir=row.project_dir,
        reviewer=row.reviewer,
        escalation_reason=row.escalation_reason,
        route_escalation=row.route_escalation,
        human_feedback=row.human_feedback,
        human_by=row.human_by,
        created_at=(row.created_at),
        updated_at=(row.updated_at),
        review_url=review_url,
    )


def find_session(db: Session, key: str, *, for_update: bool = False) -> ReviewSession:
    by_task = select(ReviewSession).where(ReviewSession.task_id == key)
    if for_update:
        by_task = by_task.with_for_update()
    session = db.get(ReviewSession, key, with_for_update=for_update) or db.exec(by_task).first()
    if session is None:
        raise SessionNotFound(f"no review session with id or taskId {key!r}")
    return session


def details_of(
    session: ReviewSession, rounds: list[ReviewRound], verdicts: list[HumanVerdict], url: str
) -> SessionDetails:
    base = session_out(session, url).model_dump()
    return SessionDetails(
        **base,
        rounds=[round_out(r) for r in rounds],
        human_verdicts=[
            HumanVerdictOut(
                iteration=v.iteration,
                status=v.status,
                feedback=v.feedback,
                given_by=v.given_by,
                created_at=v.created_at,
            )
            for v in verdicts
        ],
        next_step=NEXT_STEPS[session.status].format(url=url),
    )


def last_round(db: Session, session_id: str) -> ReviewRound | None:
    return db.exec(
        select(ReviewRound)
        .where(ReviewRound.session_id == session_id)
        .order_by(col(ReviewRound.iteration).desc())
    ).first()


def judged_rounds(db: Session, session: ReviewSession) -> int:
    """Rounds with a verdict in this cycle (interrupted ones don't count)."""
    judged = [RoundStatus.APPROVED, RoundStatus.NEEDS_REVISION]
    return len(
        db.exec(
            select(ReviewRound.id).where(
                ReviewRound.session_id == session.id,
                ReviewRound.iteration > session.cycle_start,
                col(ReviewRound.status).in_(judged),
            )
        ).all()
    )


def result_of(session: ReviewSession, row: ReviewRound | None, url: str) -> ReviewResult:
    """What request_review answers: the session's state with this round's verdict (or, with
    no round, the human's)."""
    if session.status == SessionStatus.ESCALATED:
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
        status=SessionStatus(session.status),
        feedback=feedback,
        findings=[Finding.model_validate(f) for f in (row.findings if row is not None else [])],
        iteration=session.iteration,
        cycle_round=session.iteration - session.cycle_start,
        max_iterations=session.max_iterations,
        reviewer=reviewer,
        model=row.model if row is not None else None,
        skipped_files=[SkippedFileOut(**s) for s in (row.skipped_files if row is not None else [])],
        redacted_secrets=sum((row.redactions or {}).values()) if row is not None else 0,
        route_escalation=session.route_escalation,
        review_url=url,
        next_step=NEXT_STEPS[session.status].format(url=url),
    )


def standing_result(db: Session, session: ReviewSession, url: str) -> ReviewResult:
    """The session's standing verdict, with no new round: a human's, or the last round's."""
    last = last_round(db, session.id)
    human = session.human_verdict is not None and (
        last is None or session.human_iteration >= last.iteration
    )
    result = result_of(session, None if human else last, url)
    if session.status == SessionStatus.ESCALATED and last is not None and last.feedback and human:
        result.feedback += f"\n\nLast reviewer feedback:\n{last.feedback}"
    return result


def listing(db: Session, status: str | None, limit: int, url_of: UrlOf) -> SessionList:
    query = select(ReviewSession)
    if status:
        query = query.where(ReviewSession.status == status)
    found = db.exec(query.order_by(col(ReviewSession.updated_at).desc()).limit(limit)).all()
    total = len(found)
    if total == limit:
        total = db.exec(select(func.count()).select_from(query.subquery())).one()
    return SessionList(sessions=[session_out(r, url_of(r.id)) for r in found], total=total)


def details(db: Session, session: ReviewSession, url_of: UrlOf) -> SessionDetails:
    rounds = db.exec(
        select(ReviewRound)
        .where(ReviewRound.session_id == session.id)
        .order_by(col(ReviewRound.iteration))
    ).all()
    verdicts = db.exec(
        select(HumanVerdict)
        .where(HumanVerdict.session_id == session.id)
        .order_by(col(HumanVerdict.created_at))
    ).all()
    return details_of(session, list(rounds), list(verdicts), url_of(session.id))


def fill_round(row: ReviewRound, built: BuiltPrompt, outcome: RoundOutcome) -> None:
    """A finished round: what the reviewer saw, and what it answered (or why it did not)."""
    row.context_summary = built.summary
    row.diff = built.diff
    row.redactions = dict(built.redactions)
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
    if outcome.verdict is None:
        row.status = RoundStatus.ERROR
        row.error = outcome.error or "the reviewer gave no verdict"
    else:
        row.status, row.feedback = outcome.verdict.status, outcome.verdict.feedback
        row.findings = [f.model_dump() for f in outcome.verdict.findings]
