"""Database tables of the review loop (SQLModel). The schema itself is made by migrations.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from review.status import RoundStatus, SessionStatus


def utcnow() -> datetime:
    return datetime.now(UTC)


class ReviewSession(SQLModel, table=True):
    __tablename__ = "review_sessions"

    id: str = Field(primary_key=True)
    task_id: str = Field(unique=True, index=True)
    project_dir: str | None = None
    status: str = SessionStatus.PENDING
    iteration: int = 0
    max_iterations: int = 5
    reviewer: str | None = None
    # Iteration count when a human last resolved.
    human_iteration: int = 0
    human_feedback: str | None = None
    human_verdict: str | None = None
    human_by: str | None = None
    # Rounds after this iteration count towards the next escalation: a new cycle starts when a
    # human decides, or when the agent asks again after an approval with a changed diff.
    cycle_start: int = 0
    # The diff an approval covers: asking again with the same diff returns the approval.
    approved_fingerprint: str | None = None
    escalation_reason: str | None = None
    # Why the task moved to the cloud route (review-driven escalation), if it did.
    route_escalation: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ReviewRound(SQLModel, table=True):
    __tablename__ = "review_rounds"
    __table_args__ = (UniqueConstraint("session_id", "iteration"),)

    id: str = Field(primary_key=True)
    session_id: str = Field(foreign_key="review_sessions.id", index=True)
    iteration: int
    summary: str
    details: str | None = None
    conversation_history: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    human_feedback: str | None = None
    context_summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    skipped_files: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    prompt_chars: int = 0
    prompt_tokens: int = 0
    reviewer: str | None = None
    model: str | None = None
    raw_answer: str | None = None
    status: str = RoundStatus.RUNNING
    feedback: str | None = None
    findings: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    error: str | None = None
    attempts: int = 0
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    context_ms: int | None = None
    llm_ms: int | None = None
    total_ms: int | None = None
    # The process running the round (review/owner.py), the diff's fingerprint and text as the
    # reviewer saw it, and what was redacted from it.
    owner: str | None = None
    fingerprint: str | None = None
    diff: str | None = None
    redactions: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON))


class HumanVerdict(SQLModel, table=True):
    """Every human decision on a session, with who gave it (a VerdictSource)."""

    __tablename__ = "human_verdicts"

    id: str = Field(primary_key=True)
    session_id: str = Field(foreign_key="review_sessions.id", index=True)
    iteration: int
    status: str
    feedback: str
    given_by: str
    created_at: datetime = Field(default_factory=utcnow)


class Setting(SQLModel, table=True):
    """Runtime settings changed from the dashboard or API (review mode...), kept across restarts."""

    __tablename__ = "settings"

    key: str = Field(primary_key=True)
    value: Any = Field(default=None, sa_column=Column(JSON))
    updated_at: datetime = Field(default_factory=utcnow)
