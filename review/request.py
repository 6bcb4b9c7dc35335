"""What an agent asks for when it requests a review: one pydantic model, used as is by the
MCP tool, the HTTP API (its JSON body) and the stdio relay (its arguments)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from review.errors import ReviewInputError

MAX_TASK_ID = 200
MAX_SUMMARY_CHARS = 20_000
MAX_DETAILS_CHARS = 200_000
MAX_HISTORY_ITEMS = 500
MAX_HISTORY_ITEM_CHARS = 100_000
# (progress, total, message): how a long round reports while the reviewer works.
ProgressFn = Callable[[float, float | None, str], Awaitable[None]]


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The wire names are the MCP tool's (taskId, conversationHistory); Python code may use
    # either (validation_alias keeps task_id the constructor's name for type checkers).
    task_id: str = Field(
        validation_alias=AliasChoices("taskId", "task_id"),
        serialization_alias="taskId",
        description="Stable id of this task, e.g. feature-20260424-001; the same for every round",
    )
    summary: str = Field(max_length=MAX_SUMMARY_CHARS)
    cwd: str = Field(description="Absolute path of the project (a git work tree)")
    details: str | None = Field(default=None, max_length=MAX_DETAILS_CHARS)
    conversation_history: list[str] = Field(
        default_factory=list,
        validation_alias=AliasChoices("conversationHistory", "conversation_history"),
        serialization_alias="conversationHistory",
        max_length=MAX_HISTORY_ITEMS,
    )

    @field_validator("task_id")
    @classmethod
    def _task_id(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("taskId must not be empty")
        if len(value) > MAX_TASK_ID or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise ValueError(f"taskId must be at most {MAX_TASK_ID} printable characters")
        return value

    @field_validator("summary")
    @classmethod
    def _summary(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("summary must not be empty: say in 2-3 sentences what changed and why")
        return value

    @field_validator("cwd")
    @classmethod
    def _cwd(cls, value: str) -> str:
        if not value:
            raise ValueError("cwd is required: pass the absolute path of the project's root")
        return value

    @field_validator("conversation_history")
    @classmethod
    def _history(cls, value: list[str]) -> list[str]:
        if any(len(item) > MAX_HISTORY_ITEM_CHARS for item in value):
            raise ValueError(
                f"each conversationHistory item must be at most {MAX_HISTORY_ITEM_CHARS} characters"
            )
        return value

    @classmethod
    def of(cls, **fields: Any) -> ReviewRequest:
        """Build one from outside input; ReviewInputError names every problem."""
        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            raise ReviewInputError(describe(exc)) from None


def describe(exc: ValidationError) -> str:
    """A pydantic error as one line a person (or an agent) can act on."""
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(
            message if message.startswith(where.split(".")[0]) else f"{where}: {message}"
        )
    return "; ".join(problems)
