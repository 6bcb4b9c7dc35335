"""Errors the review loop raises to its callers (kept import-light for the MCP layer).

One small hierarchy: each kind has a word (`kind`) that survives the trip from the daemon
through MCP to the stdio relay (a ToolError's message starts with it), so a caller on either
side can tell a bad request from a missing session from a daemon that cannot serve right now.
"""

from __future__ import annotations


class ReviewError(Exception):
    kind = "error"
    http_status = 500

    def tool_message(self) -> str:
        """The message an MCP client sees: the kind first, so the relay can restore it."""
        return f"{self.kind}: {self}"


class ReviewInputError(ReviewError, ValueError):
    """A request the loop cannot act on; the message tells the caller what to change."""

    kind = "invalid"
    http_status = 422


class SessionNotFound(ReviewError, LookupError):
    """No session has that id or taskId."""

    kind = "not_found"
    http_status = 404


class ReviewUnavailable(ReviewError):
    """The review service cannot serve now (stopping, database full, daemon unreachable);
    nothing was lost and the same call can be made again."""

    kind = "unavailable"
    http_status = 503
    retry_after_s = 5


_KINDS: dict[str, type[ReviewError]] = {
    cls.kind: cls for cls in (ReviewInputError, SessionNotFound, ReviewUnavailable)
}


def from_tool_message(message: str) -> ReviewError:
    """The error a daemon's ToolError stands for (the relay's side of tool_message)."""
    kind, sep, rest = message.partition(": ")
    cls = _KINDS.get(kind) if sep else None
    return cls(rest) if cls is not None else ReviewInputError(message)
