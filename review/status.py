"""The words a review session, a round and a verdict's source can hold: one vocabulary, kept
import-light (the MCP tools' schemas use it)."""

from __future__ import annotations

from enum import StrEnum


class SessionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    NEEDS_REVISION = "needs_revision"
    ESCALATED = "escalated"


class RoundStatus(StrEnum):
    """A round is running until the reviewer answers (approved, needs_revision) or fails."""

    RUNNING = "running"
    APPROVED = "approved"
    NEEDS_REVISION = "needs_revision"
    ERROR = "error"
    INTERRUPTED = "interrupted"


class VerdictSource(StrEnum):
    """Who gave a human verdict: the web page (CSRF), `brainrouter resolve`, an API call with the
    admin token, or the MCP tool resolve_session (an escalated session, the harness asking)."""

    PAGE = "page"
    CLI = "cli"
    TOKEN = "token"
    MCP = "mcp"
