"""A human's verdict on a review session: who may give it, and how it is recorded.

Only a human overrides the reviewer (SPEC, Security model). The page (CSRF), the CLI and API
calls carrying the admin token may resolve any session. The MCP tool resolve_session is the
agent's own channel: it may only relay a user's decision on an escalated session (the harness
asks the user before the call), and `review.mcp_resolve: off` turns it off.
"""

from __future__ import annotations

import uuid
from typing import Literal

from sqlmodel import Session

from review.errors import ReviewInputError
from review.models import HumanVerdict, ReviewSession, utcnow
from review.status import SessionStatus, VerdictSource
from review.verdict import Verdict

McpResolve = Literal["escalated", "off"]


def check_allowed(session: ReviewSession, by: VerdictSource, mcp_resolve: McpResolve) -> None:
    """Raise ReviewInputError when `by` may not resolve `session` now."""
    if by is not VerdictSource.MCP:
        return
    if mcp_resolve == "off":
        raise ReviewInputError(
            "resolve_session is turned off (review.mcp_resolve: off): a human resolves reviews "
            "on the session page or with `brainrouter resolve`"
        )
    if session.status != SessionStatus.ESCALATED:
        raise ReviewInputError(
            f"resolve_session acts only on escalated sessions; {session.task_id!r} is "
            f"{session.status}. The reviewer decides until it escalates: "
            + (
                "fix the findings and call request_review again"
                if session.status == SessionStatus.NEEDS_REVISION
                else "call request_review"
            )
        )


def record(db: Session, session: ReviewSession, verdict: Verdict, by: VerdictSource) -> None:
    """The human's word becomes the session's state and starts a new cycle of rounds. A round
    still running keeps its result in the history but does not override this."""
    now = utcnow()
    session.status = verdict.status
    session.human_verdict = verdict.status
    session.human_feedback = verdict.feedback
    session.human_by = by.value
    session.human_iteration = session.iteration
    session.cycle_start = session.iteration
    session.reviewer = "human"
    session.escalation_reason = None
    session.updated_at = now
    if verdict.status == SessionStatus.APPROVED:
        # The approval covers what the last round showed; a changed diff is reviewed again.
        session.approved_fingerprint = _last_fingerprint(db, session)
    db.add(session)
    db.add(
        HumanVerdict(
            id=uuid.uuid4().hex,
            session_id=session.id,
            iteration=session.iteration,
            status=verdict.status,
            feedback=verdict.feedback,
            given_by=by.value,
            created_at=now,
        )
    )


def _last_fingerprint(db: Session, session: ReviewSession) -> str | None:
    from sqlmodel import col, select

    from review.models import ReviewRound

    return db.exec(
        select(ReviewRound.fingerprint)
        .where(ReviewRound.session_id == session.id)
        .order_by(col(ReviewRound.iteration).desc())
    ).first()
