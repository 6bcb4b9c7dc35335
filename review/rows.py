"""Database rows to the shapes callers receive (results.py stays free of the ORM)."""

from __future__ import annotations

from sqlmodel import Session, select

from review.errors import SessionNotFound
from review.models import HumanVerdict, ReviewRound, ReviewSession
from review.results import NEXT_STEPS, HumanVerdictOut, RoundOut, SessionDetails, SessionOut


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
        status=row.status,  # type: ignore[arg-type]
        iteration=row.iteration,
        cycle_round=row.iteration - row.cycle_start,
        max_iterations=row.max_iterations,
        project_dir=row.project_dir,
        reviewer=row.reviewer,
        escalation_reason=row.escalation_reason,
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
