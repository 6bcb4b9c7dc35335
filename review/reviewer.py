"""Reviewers: LLM backends that take a prompt and return the model's text answer.

A reviewer is a small object with a name, a model and one `execute` method. The built-in one
speaks OpenAI chat completions over httpx; the daemon may add others (the in-process model).
"""

from __future__ import annotations

import os
from typing import Any, Protocol

import httpx

from review.settings import ReviewerSettings


class ReviewerError(RuntimeError):
    """The reviewer could not produce an answer (unreachable, HTTP error, malformed reply)."""


class Reviewer(Protocol):
    name: str  # "local" or "cloud": where the review ran
    model: str

    async def execute(self, prompt: str) -> str: ...


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
