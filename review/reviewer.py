"""Reviewers: LLM backends that take a prompt and return the model's text answer.

A reviewer is a small object with a route, a model and one `execute` method; `Reviewers` says
which routes can be asked and makes a reviewer for one. In the daemon, reviewers ask through
the proxy's upstreams (mcp_server/wiring.py: same keys, breakers, fallback and routing
events). Without the daemon (tests, `brainrouter mcp --no-autostart`), `DirectReviewers`
speak OpenAI chat completions over httpx to what `review.local` / `review.cloud` name.
"""

from __future__ import annotations

import os
from typing import Any, Literal, Protocol

import httpx

from review.settings import ReviewerSettings, ReviewSettings


class ReviewerError(RuntimeError):
    """The reviewer could not produce an answer (unreachable, HTTP error, malformed reply)."""


Route = Literal["local", "cloud"]


class Reviewer(Protocol):
    # Where the review ran ("local" or "cloud") and on which model: read after `execute`,
    # which may change them (a cloud reviewer that fell back to the local upstream).
    name: str
    model: str

    async def execute(self, prompt: str) -> str: ...


class Reviewers(Protocol):
    def available(self) -> list[Route]:
        """The routes a review can be sent to now."""
        ...

    def missing(self, route: Route | None = None) -> str:
        """What to configure so that `route` (or, with None, any route) can review."""
        ...

    def get(self, route: Route, model: str | None, project_dir: str | None = None) -> Reviewer:
        """A reviewer on `route` (with `model` instead of the route's own, when given), for a
        review of `project_dir`."""
        ...


class ChatCompletionsReviewer:
    """Any OpenAI-compatible /v1/chat/completions endpoint (llama-swap, Ollama, vLLM, a gateway)."""

    def __init__(
        self,
        name: str,
        settings: ReviewerSettings,
        client: httpx.AsyncClient,
        model: str | None = None,
    ) -> None:
        if not settings.base_url:
            raise ReviewerError(f"the {name} reviewer has no base_url (set review.{name}.base_url)")
        self.name = name
        self.settings = settings
        self.model = model or settings.model
        self._client = client

    def _headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if self.settings.api_key_env:
            key = os.environ.get(self.settings.api_key_env)
            if key:
                headers["authorization"] = f"Bearer {key}"
        return headers

    async def execute(self, prompt: str) -> str:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_tokens,
            "stream": False,
        }
        url = f"{self.settings.base_url}/chat/completions"
        try:
            response = await self._client.post(url, json=body, headers=self._headers())
        except httpx.TimeoutException as exc:
            raise ReviewerError(
                f"{self.name} reviewer at {url} timed out ({type(exc).__name__})"
            ) from exc
        except httpx.HTTPError as exc:
            raise ReviewerError(f"{self.name} reviewer at {url} unreachable: {exc!r}") from exc
        if response.status_code >= 400:
            raise ReviewerError(
                f"{self.name} reviewer answered HTTP {response.status_code}: {response.text[:300]}"
            )
        try:
            data = response.json()
            content = data["choices"][0]["message"].get("content")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise ReviewerError(
                f"{self.name} reviewer sent a reply that is not a chat completion: {response.text[:300]}"
            ) from exc
        if isinstance(content, list):  # some servers send content parts
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        if not isinstance(content, str):
            raise ReviewerError(f"{self.name} reviewer's reply has no text content")
        return content


def configured(settings: ReviewerSettings) -> bool:
    """A reviewer can be called: it has a URL, and its key is present when one is named."""
    if not settings.base_url:
        return False
    return not settings.api_key_env or bool(os.environ.get(settings.api_key_env))


class DirectReviewers:
    """Reviewers that call `review.local` / `review.cloud` themselves (no daemon, no proxy)."""

    def __init__(self, settings: ReviewSettings, client: httpx.AsyncClient) -> None:
        self._settings = settings
        self._client = client

    def available(self) -> list[Route]:
        routes: tuple[Route, ...] = ("local", "cloud")
        return [r for r in routes if configured(getattr(self._settings, r))]

    def missing(self, route: Route | None = None) -> str:
        wanted: tuple[Route, ...] = (route,) if route else ("local", "cloud")
        hints = []
        for r in wanted:
            reviewer: ReviewerSettings = getattr(self._settings, r)
            if not reviewer.base_url:
                hints.append(f"review.{r}.base_url")
            elif reviewer.api_key_env and not os.environ.get(reviewer.api_key_env):
                hints.append(f"the {reviewer.api_key_env} environment variable (review.{r})")
        return "no reviewer can be asked: set " + " or ".join(hints or ["a reviewer"])

    def get(self, route: Route, model: str | None, project_dir: str | None = None) -> Reviewer:
        return ChatCompletionsReviewer(
            route, getattr(self._settings, route), self._client, model=model
        )
