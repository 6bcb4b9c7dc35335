"""Reviews through the proxy: the review loop's reviewers ask the proxy's upstreams (the same
keys, breakers, fallback and routing events as a harness's requests, labelled `review`), and
`review.local` / `review.cloud` from older configs become the proxy's upstreams."""

from __future__ import annotations

import os

from mcp_server.config import Settings
from proxy.internal import AskFailed
from proxy.pipeline import ProxyService
from proxy.settings import UpstreamSettings
from review.reviewer import Reviewer, ReviewerError, Route
from review.settings import ReviewSettings

TRAFFIC = "review"
_EMBEDDED_TOO_SMALL = (
    "the embedded model (Gemma 3 270M) is too small to review code: set proxy.local.base_url "
    "to a local OpenAI-compatible server, or proxy.model.path to a capable GGUF"
)


def adopt_legacy_reviewers(settings: Settings) -> tuple[Settings, list[str]]:
    """Settings whose proxy upstreams include what the deprecated review.local / review.cloud
    configured, and what to tell the user about it."""
    notes: list[str] = []
    proxy = settings.proxy
    for route in ("local", "cloud"):
        old = getattr(settings.review, route)
        if not old.base_url:
            continue
        current: UpstreamSettings = getattr(proxy, route)
        if current.base_url:
            notes.append(
                f"review.{route} is deprecated and ignored: reviews go through proxy.{route} "
                f"({current.base_url}); remove review.{route} from the config"
            )
            continue
        adopted = current.model_copy(
            update={
                "base_url": old.base_url,
                "protocol": "openai",
                "model": old.model,
                "api_key_env": old.api_key_env,
            }
        )
        proxy = proxy.model_copy(update={route: adopted})
        notes.append(
            f"review.{route} is deprecated: its endpoint ({old.base_url}) now serves as "
            f"proxy.{route}, for reviews and for model={route}; move it under proxy.{route}"
        )
    return settings.model_copy(update={"proxy": proxy}), notes


class ProxyReviewer:
    def __init__(
        self,
        service: ProxyService,
        route: Route,
        model: str | None,
        settings: ReviewSettings,
        project_dir: str | None,
    ) -> None:
        self._service = service
        self._model = model  # a named model instead of the route's own
        self._settings = settings
        self._project_dir = project_dir
        self.name: str = route
        upstream = service.cloud if route == "cloud" else service.local
        self.model = model or upstream.settings.model or route

    async def execute(self, prompt: str) -> str:
        try:
            asked = await self._service.ask(
                self.name,
                [{"role": "user", "content": prompt}],
                traffic=TRAFFIC,
                model=self._model,
                project_dir=self._project_dir,
                max_tokens=self._settings.max_tokens,
                temperature=self._settings.temperature,
            )
        except AskFailed as exc:
            raise ReviewerError(f"the {self.name} reviewer could not answer: {exc}") from exc
        self.name, self.model = asked.route, asked.model
        return asked.text


class ProxyReviewers:
    """Which routes can review: a configured cloud whose key is present, a local server, or
    the in-process model when it is one the user chose (proxy.model.path)."""

    def __init__(self, service: ProxyService, settings: Settings, embedded_local: bool) -> None:
        self._service = service
        self._settings = settings
        self._embedded_local = embedded_local

    def _problem(self, route: Route) -> str | None:
        proxy = self._settings.proxy
        if route == "local" and self._embedded_local:
            return None if proxy.model.path else _EMBEDDED_TOO_SMALL
        upstream: UpstreamSettings = getattr(proxy, route)
        if not upstream.base_url:
            return f"proxy.{route}.base_url (and proxy.{route}.model)"
        if not upstream.model:
            return f"proxy.{route}.model"
        if upstream.api_key_env and not os.environ.get(upstream.api_key_env):
            return f"the {upstream.api_key_env} environment variable (proxy.{route}'s key)"
        return None

    def available(self) -> list[Route]:
        routes: tuple[Route, ...] = ("local", "cloud")
        return [r for r in routes if self._problem(r) is None]

    def missing(self, route: Route | None = None) -> str:
        routes: tuple[Route, ...] = (route,) if route else ("cloud", "local")
        hints = [f"{r}: {p}" for r in routes if (p := self._problem(r))]
        return "no reviewer can be asked; to review, set " + "; or ".join(hints)

    def get(self, route: Route, model: str | None, project_dir: str | None = None) -> Reviewer:
        return ProxyReviewer(self._service, route, model, self._settings.review, project_dir)
