"""The `bridge:` section of brainrouter.yaml: which chats may drive a coding agent, where it
runs, and how each platform is reached. Nobody is allowed until listed; tokens come from the
environment only (never the file, a log, a reply or the dashboard)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class DiscordSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    token_env: str = Field(
        default="BRAINROUTER_DISCORD_TOKEN", description="The variable holding the bot token"
    )
    allowed_users: list[str] = Field(
        default_factory=list, description="Discord user ids that may use the bot (none: nobody)"
    )
    allowed_guilds: list[str] = Field(
        default_factory=list, description="If set, only these servers (guild ids); DMs still work"
    )
    allowed_channels: list[str] = Field(
        default_factory=list, description="If set, only these channel ids"
    )
    chunk_chars: int = Field(default=1900, ge=100, le=2000)
    # Discord's endpoints, for a gateway proxy (and the tests' fake Discord)
    api_base: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg/"

    @field_validator("allowed_users", "allowed_guilds", "allowed_channels", mode="before")
    @classmethod
    def _ids_as_text(cls, value: object) -> object:
        # YAML reads a snowflake as an int; ids are compared as text.
        if isinstance(value, list):
            return [str(v) for v in value]
        return value


class SignalSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    url: str = Field(
        default="http://127.0.0.1:8080",
        description="signal-cli's JSON-RPC HTTP endpoint (signal-cli daemon --http)",
    )
    account: str | None = Field(default=None, description="The bot's own number (E.164)")
    allowed_numbers: list[str] = Field(
        default_factory=list, description="Numbers that may use the bot (none: nobody)"
    )
    group_ids: list[str] = Field(
        default_factory=list, description="If set, group messages only from these groups"
    )
    chunk_chars: int = Field(default=4000, ge=100, le=6000)


class BridgeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: Literal["claude", "codex", "opencode"] = "claude"
    agent_path: str | None = Field(
        default=None, description="The agent CLI (default: its name, found on PATH)"
    )
    root: Path = Field(
        default_factory=Path.home,
        description="Chats work only inside this folder (cd, mkdir, the agent's folder)",
    )
    work_dir: Path | None = Field(
        default=None, description="A new chat's folder (inside root; default: root)"
    )
    timeout_s: float = Field(default=600.0, gt=0, description="Per task")
    default_route: str = Field(default="auto", min_length=1, max_length=256)
    max_reply_messages: int = Field(default=10, ge=1, le=100)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    signal: SignalSettings = Field(default_factory=SignalSettings)

    @property
    def enabled(self) -> bool:
        return self.discord.enabled or self.signal.enabled
