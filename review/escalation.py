"""Review-driven escalation. On coding-agent tasks, what a model will get right is hard to
read from the task's text; whether the reviewer accepts its work is not. A task whose local
work the reviewer rejects (`review.escalate_after` needs_revision rounds in a row, or a
finding that says the task is beyond the model that wrote it) moves to the cloud for the rest
of the task: the agent's requests through the proxy (by project folder) and the review's own
rounds. It ends when the task's review is approved."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from sqlmodel import Session, col, select

from review.models import ReviewRound, ReviewSession
from review.settings import ReviewSettings
from review.status import RoundStatus
from review.store import Store

log = logging.getLogger("brainrouter.review")


class RouteHooks(Protocol):
    """The proxy's side (wired by the daemon): where its `auto` sends a project's requests."""

    def agent_route(self, project_dir: str) -> str | None:
        """Where `auto` last sent this project's agent requests (local, cloud), if it did."""
        ...

    def escalate(self, project_dir: str, reason: str) -> None: ...

    def clear(self, project_dir: str) -> None: ...


def _beyond(findings: list[dict[str, Any]], marker: str) -> str | None:
    for finding in findings:
        message = str(finding.get("message", ""))
        if marker and marker.lower() in message.lower():
            return message
    return None


def _rejections_in_a_row(db: Session, session: ReviewSession) -> int:
    judged = db.exec(
        select(ReviewRound.status)
        .where(ReviewRound.session_id == session.id, ReviewRound.iteration > session.cycle_start)
        .where(col(ReviewRound.status).in_([RoundStatus.APPROVED, RoundStatus.NEEDS_REVISION]))
        .order_by(col(ReviewRound.iteration).desc())
    ).all()
    streak = 0
    for status in judged:
        if status != RoundStatus.NEEDS_REVISION:
            break
        streak += 1
    return streak


def reason_to_escalate(
    db: Session,
    session: ReviewSession,
    row: ReviewRound,
    agent_route: str | None,
    settings: ReviewSettings,
) -> str | None:
    """Why the round just recorded (a needs_revision) moves the task to the cloud, or None:
    only work done locally (the agent's requests went local, or the review ran local)."""
    if row.status != RoundStatus.NEEDS_REVISION:
        return None
    if settings.escalate_after == 0 or session.route_escalation is not None:
        return None
    if agent_route != "local" and row.reviewer != "local":
        return None
    if beyond := _beyond(row.findings, settings.escalate_marker):
        return f"the reviewer found the task beyond the local model: {beyond[:200]}"
    streak = _rejections_in_a_row(db, session)
    if streak >= settings.escalate_after:
        return f"the reviewer rejected the local work {streak} times in a row"
    return None


def route_change(
    db: Session,
    session: ReviewSession,
    row: ReviewRound,
    hooks: RouteHooks | None,
    settings: ReviewSettings,
) -> Callable[[], None] | None:
    """What the round just recorded changes in the routing of its task, to run once it is
    stored: an escalation to the cloud (recorded on the session now), or, the task approved,
    the end of one. None when nothing changes."""
    project = session.project_dir
    if hooks is None or project is None:
        return None
    if row.status == RoundStatus.APPROVED:
        return (lambda: hooks.clear(project)) if session.route_escalation else None
    if (standing := session.route_escalation) is not None:
        # still escalated: news of the task keeps it in force (escalation_ttl_s)
        return lambda: hooks.escalate(project, f"review of task {session.task_id}: {standing}")
    why = reason_to_escalate(db, session, row, hooks.agent_route(project), settings)
    if why is None:
        return None
    session.route_escalation = why
    log.warning(
        "review of %s: %s; the rest of the task runs on the cloud route", session.task_id, why
    )
    return lambda: hooks.escalate(project, f"review of task {session.task_id}: {why}")


def human_decided(session: ReviewSession, status: str, hooks: RouteHooks | None) -> None:
    """A human approved the task: it is done, its agent traffic routes as `auto` decides."""
    project = session.project_dir
    if hooks is not None and project and session.route_escalation and status == "approved":
        hooks.clear(project)


def active_escalations(store: Store, max_age_s: float) -> list[tuple[str, str]]:
    """(project folder, why) of every task still escalated: not approved, and heard of within
    `max_age_s` (a daemon restarting puts them back in force)."""
    from datetime import timedelta

    from review.models import utcnow
    from review.status import SessionStatus

    since = utcnow() - timedelta(seconds=max_age_s)
    with store.transaction() as db:
        found = db.exec(
            select(ReviewSession)
            .where(col(ReviewSession.route_escalation).is_not(None))
            .where(ReviewSession.status != SessionStatus.APPROVED)
            .where(ReviewSession.updated_at >= since)
        ).all()
    return [
        (s.project_dir, f"review of task {s.task_id}: {s.route_escalation}")
        for s in found
        if s.project_dir
    ]
