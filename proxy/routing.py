"""Which upstream a request goes to, and why (P4). `auto` asks a classifier: the cascade of
proxy/classifier (length or learned scorer, then the judge) by default, the rules below where
it is configured off or unusable."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from proxy import strategy
from proxy.escalations import Escalations
from proxy.settings import AutoRuleSettings, ProxySettings
from proxy.tasks import TaskRoutes

Route = Literal["cloud", "local"]
MODES = ("auto", "local", "cloud")


# What harnesses put into user turns besides the user's words: Claude Code's reminders (its
# CLAUDE.md, todo state), Codex's environment and AGENTS.md messages.
_HARNESS_TAG = re.compile(r"<(system-reminder|environment_context|user_instructions|INSTRUCTIONS)>")
_AGENTS_MD_HEADING = re.compile(r"^# AGENTS\.md instructions for .*$", re.M)


def _without_harness_blocks(text: str) -> str:
    """The text less each <tag>...</tag> block of the tags above. One pass, no backtracking: a
    body full of unclosed tags costs no more than a plain one."""
    kept: list[str] = []
    position = 0
    while match := _HARNESS_TAG.search(text, position):
        end = text.find(f"</{match.group(1)}>", match.end())
        if end < 0:
            break
        kept.append(text[position : match.start()])
        position = end + len(match.group(1)) + 3
    kept.append(text[position:])
    return "".join(kept)


def _own_words(content: Any) -> str:
    """The text a person wrote in one user message, without what the harness added."""
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = "\n".join(
            str(p.get("text") or "")
            for p in content
            if isinstance(p, dict) and p.get("type") in ("text", "input_text")
        )
    else:
        return ""
    if "<" in text or "# AGENTS.md" in text:
        text = _AGENTS_MD_HEADING.sub("", _without_harness_blocks(text))
    return text.strip()


@dataclass
class Features:
    """What the classifier sees of a request (chat form)."""

    latest_user_text: str
    turns: int = 1
    conversation_key: str | None = None  # same for every turn of one conversation

    @classmethod
    def of(cls, chat: dict[str, Any], conversation_key: str | None = None) -> Features:
        messages = chat.get("messages") or []
        latest = ""
        for message in reversed(messages):
            if message.get("role") == "user":
                latest = _own_words(message.get("content"))
                if latest:
                    break
        return cls(
            latest_user_text=latest,
            turns=sum(1 for m in messages if m.get("role") == "user"),
            conversation_key=conversation_key,
        )


@dataclass
class Classification:
    route: Route
    score: float  # 0..1: how much the request needs the strong (cloud) model
    reason: str


class Classifier(Protocol):
    async def classify(self, features: Features) -> Classification: ...


class RuleClassifier:
    def __init__(self, rules: AutoRuleSettings) -> None:
        self.rules = rules

    async def classify(self, features: Features) -> Classification:
        length = len(features.latest_user_text)
        if length >= self.rules.cloud_min_chars:
            return Classification("cloud", 0.8, f"long request ({length} chars)")
        if features.turns >= self.rules.cloud_min_turns:
            return Classification("cloud", 0.7, f"long conversation ({features.turns} turns)")
        score = min(0.49, length / max(1, self.rules.cloud_min_chars))
        if self.rules.default == "cloud":
            return Classification("cloud", max(score, 0.5), "rule default")
        return Classification("local", score, "short request")


@dataclass
class Decision:
    mode: str  # auto | local | cloud | model
    route: Route
    model: str
    reason: str
    score: float | None = None
    decision_ms: float = 0.0


class RoutingError(ValueError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def parse_mode(model: str) -> str | None:
    name = model.strip()
    for prefix in ("brainrouter/", "brainrouter-"):
        if name.lower().startswith(prefix):
            name = name[len(prefix) :]
    return name.lower() if name.lower() in MODES else None


class Router:
    def __init__(
        self,
        settings: ProxySettings,
        classifier: Classifier,
        local_models: Callable[[], Awaitable[list[str]]],
        escalations: Escalations | None = None,
        first_byte_ms: Callable[[Route], float | None] = lambda route: None,
        able: Callable[[Route], bool] | None = None,
        over_budget: Callable[[], str | None] = lambda: None,
        tasks: TaskRoutes | None = None,
    ) -> None:
        self.settings = settings
        # The route each task was given, for its continuations (scenarios.continuation: same).
        self.tasks = tasks or TaskRoutes(ttl_s=settings.scenarios.continuation_ttl_s)
        self.classifier = classifier
        self._local_models = local_models
        # Projects the review loop moved to the cloud (review-driven escalation).
        self.escalations = escalations or Escalations(ttl_s=7200.0)
        self._first_byte_ms = first_byte_ms  # recent, per upstream (strategy: latency)
        self._able = able or self._available  # configured, breaker not open
        self._over_budget = over_budget  # why the daily cloud budget is spent, or None

    def _model_for(self, route: Route) -> str:
        if route == "cloud":
            model = self.settings.cloud.model
        else:
            model = self.settings.local.model or self.settings.local.fallback_model
        if not model:
            raise RoutingError(
                503, f"proxy.{route}.model is not set: brainrouter does not know which model to ask"
            )
        return model

    def _available(self, route: Route) -> bool:
        upstream = self.settings.cloud if route == "cloud" else self.settings.local
        return upstream.base_url is not None

    def _configured_name(self, model: str) -> bool:
        """A model name the user routed on purpose in config."""
        cloud, local = self.settings.cloud, self.settings.local
        named = {cloud.model, local.model, local.fallback_model, *cloud.models, *local.models}
        return model in named

    async def _by_scenario(
        self,
        scenario: tuple[str, str] | None,
        mode: str | None,
        requested: str,
        features: Features,
        project_dir: str | None,
    ) -> tuple[Route, str, str] | None:
        """(route, model, why) where config routes this kind of request; None to decide as
        usual. Only `auto` and model names not routed in config: `local`, `cloud` and
        configured names were asked for."""
        if scenario is None or scenario[0] == "main":
            return None
        if mode not in ("auto", None) or (mode is None and self._configured_name(requested)):
            return None
        target = getattr(self.settings.scenarios, scenario[0], None)
        if not target:
            return None
        if target == "same":
            return self._continued(features, mode, project_dir)
        if target in ("local", "cloud"):
            route: Route = "local" if target == "local" else "cloud"
            if not self._available(route):
                return None
            model = self._model_for(route)
        else:
            route, model = await self._where_model_lives(target), target
        return route, model, f"scenario {scenario[0]} ({scenario[1]}) → {target}"

    async def decide(
        self,
        requested: str,
        features: Features,
        project_dir: str | None = None,
        scenario: tuple[str, str] | None = None,
    ) -> Decision:
        started = time.perf_counter()
        mode = parse_mode(requested)
        routed = await self._by_scenario(scenario, mode, requested, features, project_dir)
        if routed is not None:
            route, model, because = routed
            if scenario is not None and scenario[0] != "background":  # the harness's small talk
                self.tasks.remember(features.conversation_key, route, because)
            return Decision(
                mode or "model", route, model, because, None, (time.perf_counter() - started) * 1000
            )
        if mode is None:
            route = await self._where_model_lives(requested)
            return Decision(
                "model",
                route,
                requested,
                f"concrete model served by {route}",
                decision_ms=(time.perf_counter() - started) * 1000,
            )
        score: float | None = None
        if mode == "auto":
            escalated = self.escalations.reason_for(project_dir)
            if escalated is not None and self._available("cloud"):
                route, reason = "cloud", f"escalated: {escalated}"
            else:
                result = await self.classifier.classify(features)
                route, reason, score = result.route, result.reason, result.score
                threshold = float(getattr(self.classifier, "threshold", 0.5))
                route, why = strategy.apply(
                    self.settings.strategy,
                    route,
                    score,
                    threshold,
                    self._first_byte_ms,
                    self._able,
                )
                if why:
                    reason = f"{reason}; {why}"
            if route == "cloud" and self._available("local"):
                spent = self._over_budget()
                if spent is not None:
                    route, reason = "local", f"{reason}; {spent}"

            other: Route = "local" if route == "cloud" else "cloud"
            if not self._available(route) and self._available(other):
                reason = f"{reason}; no {route} upstream configured"
                route = other
            if project_dir is not None:
                self.escalations.saw(project_dir, route)
            if scenario is None or scenario[0] != "background":
                self.tasks.remember(features.conversation_key, route, reason)
        else:
            route, reason = (
                ("cloud", "model=cloud") if mode == "cloud" else ("local", "model=local")
            )
        if not self._available(route):
            raise RoutingError(503, f"no {route} upstream configured (set proxy.{route}.base_url)")
        return Decision(
            mode,
            route,
            self._model_for(route),
            reason,
            score,
            (time.perf_counter() - started) * 1000,
        )

    def _continued(
        self, features: Features, mode: str | None, project_dir: str | None
    ) -> tuple[Route, str, str] | None:
        """A continuation's task route, while that route can serve and no escalation moved
        the task to the cloud since."""
        known = self.tasks.of(features.conversation_key)
        if known is None or not self._able(known[0].route):
            return None
        route = known[0].route
        if route == "local" and mode == "auto" and self.escalations.reason_for(project_dir):
            return None
        return (
            route,
            self._model_for(route),
            f"continues its task's {route} route ({known[0].reason})",
        )

    def local_instead(self, decision: Decision, why: str) -> Decision:
        """The same request kept on the local route (the privacy guard's `local`)."""
        return Decision(
            decision.mode,
            "local",
            self._model_for("local"),
            f"{decision.reason}; {why}",
            decision.score,
            decision.decision_ms,
        )

    async def _where_model_lives(self, model: str) -> Route:
        if model in self.settings.local.models:
            return "local"
        if model in self.settings.cloud.models:
            return "cloud"
        if self._available("local") and model in await self._local_models():
            return "local"
        if self._available("cloud"):
            return "cloud"  # a gateway serves more models than it lists
        known = ", ".join([*MODES, *self.settings.local.models])
        raise RoutingError(404, f"unknown model {model!r}; this proxy serves: {known}")


def conversation_key(
    body: dict[str, Any], chat: dict[str, Any], headers: dict[str, str]
) -> str | None:
    """What stays the same across the turns of one conversation: the harness's session id, or
    else the first thing its user wrote (not a boilerplate message every session starts with)."""
    session = headers.get("x-claude-code-session-id") or body.get("prompt_cache_key")
    if session:
        # A subagent shares its parent's session id; its task is its own.
        agent = headers.get("x-claude-code-agent-id")
        return f"session:{session}" + (f"/agent:{agent}" if agent else "")
    for message in chat.get("messages") or []:
        if message.get("role") == "user" and (words := _own_words(message.get("content"))):
            return "first:" + hashlib.blake2b(words.encode(), digest_size=12).hexdigest()
    return None


def stage_summary(stages: dict[str, Any]) -> dict[str, dict[str, float]]:
    """p50 and p99 (ms) of each classifier stage over its recent decisions."""
    out = {}
    for stage, samples in stages.items():
        ordered = sorted(samples)
        if ordered:
            out[stage] = {
                "p50": round(ordered[len(ordered) // 2], 3),
                "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
                "n": len(ordered),
            }
    return out
