"""What the review loop answers: the shapes agents (MCP) and the HTTP API receive."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

from review.status import SessionStatus
from review.verdict import Finding

__all__ = ["SessionStatus"]


def _as_utc(value: datetime) -> datetime:
    # The store keeps UTC; SQLite hands it back without a zone, PostgreSQL with one.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


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
    route_escalation: str | None = Field(
        default=None,
        description="Why the rest of this task (the agent's requests and the reviews) runs on "
        "the cloud route, when the reviewer rejected the work done locally",
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
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    llm_ms: int | None
    total_ms: int | None
    diff: str | None = None
    redactions: dict[str, int] = Field(default_factory=dict)


class HumanVerdictOut(BaseModel):
    iteration: int
    status: str
    feedback: str
    given_by: str
    created_at: UtcDatetime | None


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
    route_escalation: str | None = None
    human_feedback: str | None
    human_by: str | None = None
    created_at: UtcDatetime | None
    updated_at: UtcDatetime | None
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


# Harnesses cut a tool's output past a token limit (Claude Code: MAX_MCP_OUTPUT_TOKENS, 25,000
# by default), which would cut the JSON mid-way. What a tool returns stays well under it: long
# texts are shortened with a pointer to the session page, where everything is kept.
_FEEDBACK_CHARS = 24_000
_FINDING_CHARS = 1_000
_MAX_FINDINGS = 30
_MAX_SKIPPED = 200


def _clip(text: str | None, limit: int, url: str) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + f"\n[... shortened: {len(text) - limit} more characters at {url}]"


def _clip_findings(findings: list[Finding], url: str) -> list[Finding]:
    kept = [
        f.model_copy(update={"message": _clip(f.message, _FINDING_CHARS, url)})
        for f in findings[:_MAX_FINDINGS]
    ]
    if len(findings) > _MAX_FINDINGS:
        more = len(findings) - _MAX_FINDINGS
        kept.append(Finding(severity="minor", message=f"... and {more} more findings at {url}"))
    return kept


def fit_for_tool(result: ReviewResult) -> ReviewResult:
    """The result, small enough for any harness to take whole."""
    url = result.review_url
    return result.model_copy(
        update={
            "feedback": _clip(result.feedback, _FEEDBACK_CHARS, url),
            "findings": _clip_findings(result.findings, url),
            "skipped_files": result.skipped_files[:_MAX_SKIPPED],
        }
    )


def details_for_tool(details: SessionDetails) -> SessionDetails:
    """One session's history for an agent: the newest rounds' verdicts, without the diffs and
    raw answers (those are on the session page)."""
    url = details.review_url
    rounds = [
        r.model_copy(
            update={
                "diff": None,
                "raw_answer": None,
                "summary": _clip(r.summary, 2_000, url),
                "details": _clip(r.details, 2_000, url),
                "feedback": _clip(r.feedback, 6_000, url),
                "findings": [
                    {**f, "message": _clip(str(f.get("message", "")), _FINDING_CHARS, url)}
                    for f in r.findings[:_MAX_FINDINGS]
                ],
                "skipped_files": r.skipped_files[:50],
            }
        )
        for r in details.rounds[-5:]
    ]
    return details.model_copy(
        update={"rounds": rounds, "human_feedback": _clip(details.human_feedback, 6_000, url)}
    )
