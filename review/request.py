"""What an agent asks for when it requests a review."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from review.errors import ReviewInputError

MAX_TASK_ID = 200
# (progress, total, message): how a long round reports while the reviewer works.
ProgressFn = Callable[[float, float | None, str], Awaitable[None]]


@dataclass
class ReviewRequest:
    task_id: str
    summary: str
    cwd: str
    details: str | None = None
    conversation_history: list[str] = field(default_factory=list)

    def validate(self) -> None:
        """Raise ReviewInputError naming every problem; normalises task_id."""
        problems: list[str] = []
        task_id = self.task_id.strip() if isinstance(self.task_id, str) else ""
        if not task_id:
            problems.append("taskId must not be empty")
        elif len(task_id) > MAX_TASK_ID or any(ord(ch) < 32 for ch in task_id):
            problems.append(f"taskId must be at most {MAX_TASK_ID} printable characters")
        if not isinstance(self.summary, str) or not self.summary.strip():
            problems.append("summary must not be empty: say in 2-3 sentences what changed and why")
        if not self.cwd:
            problems.append("cwd is required: pass the absolute path of the project's root")
        if problems:
            raise ReviewInputError("; ".join(problems))
        self.task_id = task_id
