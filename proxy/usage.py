"""What an answer used, as the proxy counts it: every input token (cache reads and writes
included, as chat's prompt_tokens counts them), of which cache reads and cache writes, and
output tokens. Each wire format reads its own usage object into this (formats/)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Usage:
    input: int | None = None
    output: int | None = None
    cache_read: int = 0
    cache_write: int = 0

    def then(self, later: Usage) -> Usage:
        """This usage updated by a later report of the same answer (Anthropic streams report
        input at message_start and output at message_delta)."""
        return Usage(
            later.input or self.input,
            later.output if later.output is not None else self.output,
            later.cache_read or self.cache_read,
            later.cache_write or self.cache_write,
        )

    def event_fields(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input,
            "output_tokens": self.output,
            "cache_read_tokens": self.cache_read or None,
            "cache_write_tokens": self.cache_write or None,
        }


def whole(value: Any) -> int:
    """A token count from an upstream's JSON: a non-negative whole number, else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def count(value: Any) -> int | None:
    """A token count that may be absent: None unless a non-negative whole number."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
