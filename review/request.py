"""What an agent asks for when it requests a review."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ReviewRequest:
    task_id: str
    summary: str
    cwd: str
    details: str | None = None
    conversation_history: list[str] = field(default_factory=list)
