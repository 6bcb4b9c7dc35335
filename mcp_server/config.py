"""brainrouter.yaml: every key has a default, every key can be set by an environment variable.

Precedence (highest first): environment (BRAINROUTER_<SECTION>__<KEY>), the YAML file, the
defaults below. The file is `--config PATH`, else $BRAINROUTER_CONFIG, else
~/.config/brainrouter/brainrouter.yaml over /etc/brainrouter/brainrouter.yaml.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from platformdirs import user_config_path, user_data_path
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from mcp_server.bridge.settings import BridgeSettings
from proxy.settings import ProxySettings
from review.settings import ReviewSettings

ENV_PREFIX = "BRAINROUTER_"
SYSTEM_CONFIG = Path("/etc/brainrouter/brainrouter.yaml")


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key and the source."""


def user_config_file() -> Path:
    return user_config_path("brainrouter") / "brainrouter.yaml"


def default_database_url() -> str:
    return f"sqlite:///{user_data_path('brainrouter') / 'brainrouter.db'}"


class ServerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=9099, ge=1, le=65535)
    public_url: str | None = Field(
        default=None, description="URL people open the review pages at (default http://host:port)"
    )
    allow_remote: bool = Field(
        default=False,
        description="Bind beyond loopback; every request must then carry the admin token",
    )
    allowed_uids: list[int] | None = Field(
        default=None,
        description="Local users (uids) whose processes may use the daemon over loopback "
        "(default: only the user running it; checked on Linux)",
    )
    max_api_body_bytes: int = Field(
        default=4_000_000,
        ge=1024,
        description="Largest request body the review and dashboard JSON routes accept "
        "(the proxy has proxy.max_body_bytes)",
    )

    @property
    def loopback_url(self) -> str:
        """Where processes on this machine reach the daemon (a wildcard bind answers on 127.0.0.1)."""
        host = "127.0.0.1" if self.host in {"0.0.0.0", "::", ""} else self.host
        return f"http://{'[' + host + ']' if ':' in host else host}:{self.port}"

    @property
    def url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input_per_mtok: float = Field(ge=0, description="Price per million input tokens")
    output_per_mtok: float = Field(ge=0, description="Price per million output tokens")
    cache_read_per_mtok: float | None = Field(
        default=None,
        ge=0,
        description="Per million tokens read from a prompt cache (default: input)",
    )
    cache_write_per_mtok: float | None = Field(
        default=None, ge=0, description="Per million tokens written to one (default: input)"
    )

    def cost(self, input_tokens: int, cache_read: int, cache_write: int, output: int) -> float:
        """USD for these tokens; `input_tokens` excludes cache reads and writes."""
        read = self.input_per_mtok if self.cache_read_per_mtok is None else self.cache_read_per_mtok
        write = (
            self.input_per_mtok if self.cache_write_per_mtok is None else self.cache_write_per_mtok
        )
        return (
            input_tokens * self.input_per_mtok
            + cache_read * read
            + cache_write * write
            + output * self.output_per_mtok
        ) / 1_000_000


class DashboardSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_s: float = Field(default=2.0, gt=0, le=60)
    prices: dict[str, Price] = Field(
        default_factory=dict, description="Per model, to count the cloud cost local routing avoided"
    )


class OpsSettings(BaseModel):
    """Commands the dashboard may run: only these, never anything a request names."""

    model_config = ConfigDict(extra="forbid")

    restart: dict[str, str] = Field(default_factory=dict, description="service name → command")
    upgrade: dict[str, str] = Field(default_factory=dict, description="component name → command")
    timeout_s: float = Field(default=120.0, gt=0)

    @field_validator("restart", "upgrade")
    @classmethod
    def _commands(cls, value: dict[str, str]) -> dict[str, str]:
        import shlex

        for name, command in value.items():
            if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
                raise ValueError(f"service name {name!r}: use letters, digits, '-', '_' or '.'")
            try:
                if not shlex.split(command):
                    raise ValueError
            except ValueError:
                raise ValueError(f"{name}: {command!r} is not a command line") from None
        return value


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    database_url: str = Field(default_factory=default_database_url)
    log_level: str = "info"
    server: ServerSettings = Field(default_factory=ServerSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    proxy: ProxySettings = Field(default_factory=ProxySettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)
    ops: OpsSettings = Field(default_factory=OpsSettings)
    bridge: BridgeSettings = Field(default_factory=BridgeSettings)

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.lower()
        if value not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return value

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError("must be a SQLAlchemy URL such as sqlite:////path/to/file.db")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # init_settings carries the YAML file's content (see load_settings).
        return (env_settings, init_settings)


def _named_config(explicit: Path | None) -> Path | None:
    """The config file named by --config, else by BRAINROUTER_CONFIG, if any."""
    if explicit is None and os.environ.get("BRAINROUTER_CONFIG"):
        explicit = Path(os.environ["BRAINROUTER_CONFIG"])
    return explicit.expanduser() if explicit is not None else None


def config_files(explicit: Path | None = None) -> list[Path]:
    """The files read, lowest precedence first."""
    explicit = _named_config(explicit)
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} does not exist")
        return [explicit]
    return [p for p in (SYSTEM_CONFIG, user_config_file()) if p.is_file()]


def writable_config_file(explicit: Path | None = None) -> Path:
    """The file a command that changes settings writes: the one named, else the user's."""
    return _named_config(explicit) or user_config_file()


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
            "save it as UTF-8"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys to values")
    return data


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(config: Path | None = None) -> Settings:
    files = config_files(config)
    data: dict[str, Any] = {}
    for path in files:
        data = _merge(data, _read_yaml(path))
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, files)) from None


def _describe(exc: ValidationError, files: list[Path]) -> str:
    where = ", ".join(str(f) for f in files) or "defaults"
    lines = [f"invalid configuration ({where}; environment variables {ENV_PREFIX}*):"]
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        env = ENV_PREFIX + "__".join(str(p).upper() for p in error["loc"])
        if error["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key (check its spelling)")
        else:
            lines.append(f"  {key}: {error['msg']} (or set {env})")
    return "\n".join(lines)
