"""Database tables of the review loop (SQLModel). The schema itself is made by migrations.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

# Session states an agent or a human sees.
PENDING = "pending"
APPROVED = "approved"
NEEDS_REVISION = "needs_revision"
ESCALATED = "escalated"
SESSION_STATES = (PENDING, APPROVED, NEEDS_REVISION, ESCALATED)

# Round states: a round is "running" until the reviewer answers or fails.
ROUND_RUNNING = "running"
ROUND_ERROR = "error"
ROUND_INTERRUPTED = "interrupted"


def utcnow() -> datetime:
    return datetime.now(UTC)


class ReviewSession(SQLModel, table=True):
    __tablename__ = "review_sessions"

    id: str = Field(primary_key=True)
    task_id: str = Field(unique=True, index=True)
    project_dir: str | None = None
    status: str = PENDING
    iteration: int = 0
    max_iterations: int = 5
    reviewer: str | None = None
    # Iteration count when a human last resolved; rounds after it count towards the next escalation.
    human_iteration: int = 0
    human_feedback: str | None = None
    human_verdict: str | None = None
    escalation_reason: str | None = None
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
    status: str = ROUND_RUNNING
    feedback: str | None = None
    findings: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    error: str | None = None
    attempts: int = 0
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    context_ms: int | None = None
    llm_ms: int | None = None
    total_ms: int | None = None


class Setting(SQLModel, table=True):
    """Runtime settings changed from the dashboard or API (review mode...), kept across restarts."""

    __tablename__ = "settings"

    key: str = Field(primary_key=True)
    value: Any = Field(default=None, sa_column=Column(JSON))
    updated_at: datetime = Field(default_factory=utcnow)
