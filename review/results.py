"""What the review loop answers: the shapes agents (MCP) and the HTTP API receive."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from review.status import SessionStatus
from review.verdict import Finding

__all__ = ["SessionStatus"]


class SkippedFileOut(BaseModel):
    path: str
    reason: str


class ReviewResult(BaseModel):
    """The outcome of one request_review call."""

    session_id: str
    task_id: str
    status: SessionStatus
    feedback: str
    findings: list[Finding] = Field(default_factory=list)
    iteration: int = Field(description="Rounds run in this session so far")
    cycle_round: int = Field(
        description="Rounds since the last approval or human verdict; at max_iterations "
        "without approval the session is escalated"
    )
    max_iterations: int
    reviewer: str | None = Field(description="local, cloud or human: who gave this verdict")
    model: str | None = None
    skipped_files: list[SkippedFileOut] = Field(
        default_factory=list, description="Changed files the reviewer did not see, and why"
    )
    redacted_secrets: int = Field(
        default=0,
        description="Secrets replaced with [REDACTED:<kind>] before the reviewer saw them",
    )
    review_url: str
    next_step: str = Field(description="What the agent should do now")


class RoundOut(BaseModel):
    iteration: int
    status: str
    summary: str
    details: str | None
    human_feedback: str | None
    feedback: str | None
    findings: list[dict[str, Any]]
    reviewer: str | None
    model: str | None
    error: str | None
    skipped_files: list[dict[str, Any]]
    context_summary: dict[str, Any]
    prompt_tokens: int
    raw_answer: str | None
    started_at: datetime | None
    finished_at: datetime | None
    llm_ms: int | None
    total_ms: int | None
    diff: str | None = None
    redactions: dict[str, int] = Field(default_factory=dict)


class HumanVerdictOut(BaseModel):
    iteration: int
    status: str
    feedback: str
    given_by: str
    created_at: datetime | None


class SessionOut(BaseModel):
    session_id: str
    task_id: str
    status: SessionStatus
    iteration: int
    cycle_round: int
    max_iterations: int
    project_dir: str | None
    reviewer: str | None
    escalation_reason: str | None
    human_feedback: str | None
    human_by: str | None = None
    created_at: datetime | None
    updated_at: datetime | None
    review_url: str


class SessionList(BaseModel):
    sessions: list[SessionOut]
    total: int


class SessionDetails(SessionOut):
    rounds: list[RoundOut]
    human_verdicts: list[HumanVerdictOut] = Field(default_factory=list)
    next_step: str


# What the agent should do next, by session status (shown in results and on the web page).
NEXT_STEPS = {
    "approved": "The change is approved. The task is complete; tell the user.",
    "needs_revision": (
        "Fix every blocking finding, then call request_review again with the same taskId "
        "and a summary of what you changed."
    ),
    "escalated": (
        "Stop and tell the user: a human must resolve this review at {url}. Call request_review "
        "with the same taskId after they have, to receive their verdict."
    ),
    "pending": "A review round is running; wait for it and call get_session_details.",
}
