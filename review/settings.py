"""Settings of the review loop: the reviewers it may call and how a round is run."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ReviewMode = Literal["auto", "cloud", "local"]


class ReviewerSettings(BaseModel):
    """One OpenAI-compatible chat-completions endpoint used as a reviewer."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = Field(
        default=None, description="OpenAI-compatible base URL ending in /v1; unset = not configured"
    )
    model: str = "local"
    api_key_env: str | None = Field(
        default=None, description="Name of the environment variable holding the API key"
    )
    max_tokens: int = Field(default=4096, gt=0)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class ReviewSettings(BaseModel):
    """The `review:` section of brainrouter.yaml."""

    model_config = ConfigDict(extra="forbid")

    max_iterations: int = Field(default=5, ge=1, le=100)
    mode: ReviewMode = Field(
        default="auto", description="auto: classifier decides; cloud or local: forced"
    )
    local_model: str | None = Field(
        default=None, description="Model for forced-local reviews (default: local.model)"
    )
    round_timeout_s: float = Field(default=600.0, gt=0, description="Time limit of one round")
    context_budget_tokens: int = Field(
        default=24_000, ge=1_000, description="Token budget for PRD, AGENTS.md and the diff"
    )
    prompt_template: Path | None = Field(
        default=None, description="A Jinja2 file replacing prompts/review.md"
    )
    progress_interval_s: float = Field(default=5.0, gt=0)
    mcp_resolve: Literal["escalated", "off"] = Field(
        default="escalated",
        description="What the MCP tool resolve_session may do: relay a user's verdict on an "
        "escalated session (the harness asks the user first), or nothing",
    )
    escalate_after: int = Field(
        default=2,
        ge=0,
        description="needs_revision rounds in a row on work done locally that move the task to "
        "the cloud for the rest of it (0: never)",
    )
    escalate_marker: str = Field(
        default="beyond the model that wrote it",
        description="A finding saying this moves the task to the cloud at once",
    )
    escalation_ttl_s: float = Field(
        default=7200.0, gt=0, description="An escalated task with no review news this long ends"
    )
    max_tokens: int = Field(default=4096, gt=0, description="Cap on one reviewer answer")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    # Deprecated: reviews go through the proxy's upstreams (proxy.cloud / proxy.local). Read
    # still; a base_url here becomes the proxy's upstream when that one is not configured.
    local: ReviewerSettings = Field(default_factory=ReviewerSettings)
    cloud: ReviewerSettings = Field(
        default_factory=lambda: ReviewerSettings(
            model="cloud", api_key_env="BRAINROUTER_CLOUD_API_KEY"
        )
    )

    @field_validator("prompt_template")
    @classmethod
    def _check_template(cls, value: Path | None) -> Path | None:
        if value is not None:
            value = value.expanduser()
            if not value.is_file():
                raise ValueError(f"file not found: {value}")
        return value
