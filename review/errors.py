"""Errors the review loop raises to its callers (kept import-light for the MCP layer)."""


class ReviewInputError(ValueError):
    """A request the loop cannot act on; the message tells the caller what to change."""


class SessionNotFound(LookupError):
    """No session has that id or taskId."""
