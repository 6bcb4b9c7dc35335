"""Settings of the routing proxy: the upstreams, their timeouts, breaker and routing rules."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Protocol = Literal["openai", "anthropic", "responses"]


def _url(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value.rstrip("/")


CLOUD_KEY_ENV = "BRAINROUTER_CLOUD_API_KEY"


class UpstreamSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str | None = Field(default=None, description="Base URL ending in /v1; unset = none")
    protocol: Protocol = Field(
        default="openai",
        description="openai = chat completions; anthropic = /v1/messages; responses = /v1/responses",
    )
    api_key_env: str | None = Field(default=None, description="Env var holding the API key")
    model: str | None = Field(default=None, description="Model sent for model=cloud / model=local")
    models: list[str] = Field(default_factory=list, description="Concrete model names served here")
    system_first: bool = Field(
        default=False,
        description="Move every system message to the front (chat upstreams whose templates "
        "refuse one mid-conversation)",
    )
    max_output_tokens: int = Field(
        default=16_384,
        ge=1,
        description="The model's output limit: sent as max_tokens to an Anthropic upstream when "
        "the client set none (Anthropic requires one)",
    )

    _check_url = field_validator("base_url")(classmethod(lambda cls, v: _url(v)))


class LocalInstance(BaseModel):
    """One more server of the local route (another llama-server or vLLM, one per GPU)."""

    model_config = ConfigDict(extra="forbid")

    base_url: str
    models: list[str] = Field(
        default_factory=list,
        description="Models only servers that list them serve (empty: every model no server lists)",
    )

    @field_validator("base_url")
    @classmethod
    def _required_url(cls, value: str) -> str:
        checked = _url(value)
        if checked is None:
            raise ValueError("an instance needs a base_url")
        return checked


class CloudInstance(BaseModel):
    """One more way to the cloud route: another key, or another gateway."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = Field(default=None, description="Default: cloud's own base_url")
    api_key_env: str | None = Field(default=None, description="Default: cloud's own key")
    models: list[str] = Field(
        default_factory=list,
        description="Models only servers that list them serve (empty: every model no server lists)",
    )

    _check_url = field_validator("base_url")(classmethod(lambda cls, v: _url(v)))


class CloudUpstreamSettings(UpstreamSettings):
    instances: list[CloudInstance] = Field(
        default_factory=list,
        description="More keys or gateways for the cloud route, next to base_url and api_key_env: "
        "each request goes to the least busy able one that serves its model",
    )
    probe_s: float = Field(default=30.0, gt=0, description="How often each one's health is checked")


class LocalUpstreamSettings(UpstreamSettings):
    system_first: bool = True  # llama.cpp's chat templates want system text first
    fallback_model: str | None = Field(
        default=None, description="Model that takes over when the cloud fails (default: model)"
    )
    instances: list[LocalInstance] = Field(
        default_factory=list,
        description="More servers of the local route, next to base_url: each request goes to "
        "the healthy one with the fewest requests in flight that serves its model",
    )
    probe_s: float = Field(
        default=10.0, gt=0, description="How often each local server's health is checked"
    )
    failover_to_cloud: bool = Field(
        default=False,
        description="When every local server is down, send local requests to the cloud "
        "(it spends money: off unless set)",
    )


class TimeoutSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connect_s: float = Field(default=5.0, gt=0)
    first_byte_s: float = Field(default=60.0, gt=0, description="No first token within → fallback")
    stall_s: float = Field(default=120.0, gt=0, description="Longest silence inside a stream")
    total_s: float = Field(default=900.0, gt=0)
    keepalive_s: float = Field(default=15.0, gt=0, description="SSE comment during silences")


class BreakerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    failures: int = Field(default=3, ge=1)
    cooldown_s: float = Field(default=60.0, gt=0)


class AutoRuleSettings(BaseModel):
    """The rule-based `auto` decision (the classifier replaces it where configured)."""

    model_config = ConfigDict(extra="forbid")

    cloud_min_chars: int = Field(
        default=6000, ge=0, description="Latest user turn this long → cloud"
    )
    cloud_min_turns: int = Field(default=12, ge=1, description="Conversations this long → cloud")
    default: Literal["local", "cloud"] = "local"


class ClassifierSettings(BaseModel):
    """How `auto` decides: the length router (default), the learned router, or the rules above."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["length", "learned", "rules"] = Field(
        default="length",
        description="length: the prompt's length against its kind's usual length (what held up "
        "on unseen sources); learned: weights.json; rules: proxy.auto",
    )
    weights: Path | None = Field(
        default=None, description="kind learned: weights.json from train.py (default: shipped)"
    )
    threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Score from which cloud (default: 0.5 for length, the weights' for learned)",
    )
    timeout_ms: float = Field(default=50.0, gt=0, description="Past this, the default decision")
    default: Literal["local", "cloud"] = "local"
    cache_size: int = Field(default=4096, ge=0)
    cache_ttl_s: float = Field(default=1800.0, ge=0)
    judge: bool = Field(
        default=False,
        description="Ask the shared GGUF model when the score is close (for a GPU: on a CPU a "
        "judgement outlasts timeout_ms)",
    )
    judge_margin: float = Field(
        default=0.05, ge=0.0, le=1.0, description="Ask the model judge within this of the threshold"
    )
    prompt: Path | None = Field(
        default=None, description="A Jinja2 file replacing prompts/classifier.md (the judge's)"
    )

    @field_validator("weights", "prompt")
    @classmethod
    def _weights_file(cls, value: Path | None) -> Path | None:
        if value is not None:
            value = value.expanduser()
            if not value.is_file():
                raise ValueError(f"file not found: {value}")
        return value


class ModelSettings(BaseModel):
    """The GGUF model loaded once in the daemon (classifier judge, embedded local upstream)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    path: Path | None = Field(
        default=None, description="GGUF file (default: Gemma 3 270M from PyPI)"
    )
    n_ctx: int = Field(default=4096, ge=256)
    n_threads: int | None = Field(
        default=None, ge=1, description="CPU threads (default: all cores)"
    )
    n_gpu_layers: int = Field(
        default=-1, description="-1 = all layers on the GPU when the build has one"
    )
    max_tokens: int = Field(default=1024, ge=1, description="Cap on one embedded completion")
    verbose: bool = Field(
        default=False,
        description="llama.cpp's own log on stderr (where each layer went: CPU or GPU)",
    )

    @field_validator("path")
    @classmethod
    def _model_file(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None


class ScenarioSettings(BaseModel):
    """Where each kind of request goes (proxy/scenarios.py): local, cloud, a model name, or
    unset (the request's own model decides, `auto` included); `continuation` also `same`."""

    model_config = ConfigDict(extra="forbid")

    background: str | None = Field(
        default="local", description="A harness's own small requests (titles, summaries)"
    )
    images: str | None = None
    long_context: str | None = None
    continuation: str | None = Field(
        default="same",
        description="A tool result going back: `same` keeps the route its task was given",
    )
    subagent: str | None = None
    thinking: str | None = None
    continuation_ttl_s: float = Field(
        default=3600.0, gt=0, description="How long a task's route is kept for its continuations"
    )
    background_models: list[str] = Field(
        default_factory=lambda: ["*haiku*"],
        description="Model names (globs) harnesses use for background requests",
    )
    long_context_tokens: int = Field(default=60_000, ge=1)

    @model_validator(mode="after")
    def _same_only_for_continuations(self) -> ScenarioSettings:
        for name in ("background", "images", "long_context", "subagent", "thinking"):
            if getattr(self, name) == "same":
                raise ValueError(
                    f"scenarios.{name}: `same` is only for continuation (a task's own route)"
                )
        return self


class BudgetSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cloud_usd_per_day: float | None = Field(
        default=None,
        gt=0,
        description="Once today's cloud cost (at dashboard.prices) reaches this, auto goes local "
        "until midnight, local time",
    )


class ProxySettings(BaseModel):
    """The `proxy:` section of brainrouter.yaml."""

    model_config = ConfigDict(extra="forbid")

    cloud: CloudUpstreamSettings = Field(
        default_factory=lambda: CloudUpstreamSettings(api_key_env=CLOUD_KEY_ENV)
    )
    local: LocalUpstreamSettings = Field(default_factory=LocalUpstreamSettings)
    timeouts: TimeoutSettings = Field(default_factory=TimeoutSettings)
    breaker: BreakerSettings = Field(default_factory=BreakerSettings)
    auto: AutoRuleSettings = Field(default_factory=AutoRuleSettings)
    classifier: ClassifierSettings = Field(default_factory=ClassifierSettings)
    model: ModelSettings = Field(default_factory=ModelSettings)
    local_rewrite: bool = Field(default=True, description="Lean system prompt for local models")
    local_rewrite_auto: bool = Field(default=True, description="Also when auto decided local")
    local_system_prompt: Path | None = Field(
        default=None, description="Replaces prompts/local_system.md"
    )
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    max_connections: int = Field(
        default=512,
        ge=1,
        description="Upstream connections at once, per upstream; past it a request waits "
        "up to timeouts.connect_s, then gets a 503 with retry-after",
    )
    privacy: Literal["redact", "local", "block", "off"] = Field(
        default="redact",
        description="Secrets in a request bound for the cloud: redact them, keep the request "
        "local, refuse it (400), or send as is",
    )
    events_max: int = Field(default=5000, ge=10, description="Routing events kept")
    strategy: Literal["balanced", "cost", "quality", "latency"] = Field(
        default="balanced",
        description="How auto weighs the router: as is, local unless sure, cloud unless sure, "
        "or the upstream with the lower recent time to first byte",
    )
    budget: BudgetSettings = Field(default_factory=lambda: BudgetSettings())
    scenarios: ScenarioSettings = Field(default_factory=lambda: ScenarioSettings())

    @model_validator(mode="after")
    def _cloud_key_env(self) -> ProxySettings:
        # The default key variable holds whenever the config names none: a `cloud:` section
        # (or BRAINROUTER_PROXY__CLOUD__BASE_URL) that omits api_key_env still sends the key.
        # `api_key_env: null` says no key.
        if "api_key_env" not in self.cloud.model_fields_set:
            self.cloud.api_key_env = CLOUD_KEY_ENV
        return self

    @field_validator("local_system_prompt")
    @classmethod
    def _prompt_file(cls, value: Path | None) -> Path | None:
        if value is not None:
            value = value.expanduser()
            if not value.is_file():
                raise ValueError(f"file not found: {value}")
        return value
