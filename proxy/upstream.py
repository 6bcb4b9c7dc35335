"""An upstream LLM server: where it is, what it speaks, how it is doing.

`open()` sends a request and waits for the upstream's first byte: everything that can go
wrong before that (refused connection, timeout, 5xx, 429, silence) is an UpstreamFailure the
caller may fall back on. After the first byte the answer is committed to the client.
"""

from __future__ import annotations

import asyncio
import errno
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from proxy.breaker import CircuitBreaker
from proxy.formats import FORMATS
from proxy.settings import Protocol, ProxySettings, TimeoutSettings, UpstreamSettings
from proxy.strategy import Ewma

_MODELS_TTL_S = 60.0
FailureKind = Literal[
    "connect", "timeout", "status", "first_byte", "stall", "malformed", "truncated"
]


class UpstreamFailure(Exception):
    """The upstream failed in a way another upstream may do better (P6)."""

    def __init__(self, kind: FailureKind, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


class ProxySaturated(Exception):
    """The proxy itself is out of a resource (connection slots, file descriptors): not the
    upstream's fault, so no breaker hears of it; the client is told to retry."""


class UpstreamClientError(Exception):
    """The upstream refused the request itself (4xx other than 429): not retried elsewhere."""

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        super().__init__(f"upstream answered HTTP {status}")
        self.status = status
        self.body = body
        self.content_type = content_type


@dataclass
class Opened:
    """A response whose status was good and whose first chunk has arrived."""

    response: httpx.Response
    first_chunk: bytes
    chunks: AsyncIterator[bytes]
    first_byte_ms: float


def _out_of_files(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.EMFILE, errno.ENFILE):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class Upstream:
    def __init__(
        self,
        name: Literal["cloud", "local"],
        settings: UpstreamSettings,
        client: httpx.AsyncClient,
        timeouts: TimeoutSettings,
        breaker: CircuitBreaker,
        max_connections: int = 512,
        label: str | None = None,
        serving: frozenset[str] = frozenset(),
    ) -> None:
        self.name = name
        self.label = label or name  # which server of its route (requests in flight are by label)
        self.serving = serving  # the models it serves; empty: every one of its route
        self.settings = settings
        self.client = client
        self.timeouts = timeouts
        self.breaker = breaker
        self.slots = asyncio.Semaphore(max_connections)
        self.last_latency_ms: float | None = None
        self.first_byte = Ewma()  # recent time to first byte (strategy: latency)
        self._models: tuple[float, list[str]] | None = None

    @classmethod
    def of(
        cls,
        name: Literal["cloud", "local"],
        settings: UpstreamSettings,
        client: httpx.AsyncClient,
        proxy: ProxySettings,
        label: str | None = None,
    ) -> Upstream:
        breaker = CircuitBreaker(proxy.breaker.failures, proxy.breaker.cooldown_s)
        return cls(
            name, settings, client, proxy.timeouts, breaker, proxy.max_connections, label=label
        )

    @property
    def configured(self) -> bool:
        return self.settings.base_url is not None

    @property
    def protocol(self) -> Protocol:
        return self.settings.protocol

    def url(self) -> str:
        return f"{self.settings.base_url}{FORMATS[self.protocol].path}"

    def headers(self, passthrough: dict[str, str] | None = None) -> dict[str, str]:
        key = os.environ.get(self.settings.api_key_env) if self.settings.api_key_env else None
        # What the client sent that must reach the upstream unchanged wins over our defaults.
        return {
            "content-type": "application/json",
            **FORMATS[self.protocol].auth_headers(key),
            **(passthrough or {}),
        }

    async def open(self, body: bytes, headers: dict[str, str] | None = None) -> Opened:
        started = time.perf_counter()
        request = self.client.build_request(
            "POST",
            self.url(),
            content=body,
            headers=self.headers(headers),
            timeout=httpx.Timeout(
                self.timeouts.total_s, connect=self.timeouts.connect_s, read=self.timeouts.stall_s
            ),
        )
        try:
            async with asyncio.timeout(self.timeouts.first_byte_s):
                response = await self.client.send(request, stream=True)
        except TimeoutError:
            raise UpstreamFailure(
                "first_byte", f"{self.name}: no answer within {self.timeouts.first_byte_s:g}s"
            ) from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            cause = exc.__cause__ or exc
            if _out_of_files(exc):
                raise ProxySaturated(f"brainrouter is out of file descriptors ({cause})") from None
            raise UpstreamFailure("connect", f"{self.name}: cannot connect ({cause})") from None
        except httpx.TimeoutException as exc:
            raise UpstreamFailure("timeout", f"{self.name}: {type(exc).__name__}") from None
        except httpx.HTTPError as exc:
            raise UpstreamFailure("connect", f"{self.name}: {exc!r}") from None
        if response.status_code >= 400:
            try:
                payload = await asyncio.wait_for(response.aread(), self.timeouts.stall_s)
            except (TimeoutError, httpx.HTTPError):
                payload = b""
            finally:
                await response.aclose()
            if response.status_code == 429 or response.status_code >= 500:
                raise UpstreamFailure(
                    "status",
                    f"{self.name}: HTTP {response.status_code} {payload[:200]!r}",
                    status=response.status_code,
                )
            raise UpstreamClientError(
                response.status_code,
                payload,
                response.headers.get("content-type", "application/json"),
            )
        chunks = response.aiter_raw()
        remaining = max(0.001, self.timeouts.first_byte_s - (time.perf_counter() - started))
        try:
            first = b""
            while not first:  # skip empty reads
                first = await asyncio.wait_for(anext(chunks), remaining)
        except TimeoutError:
            await response.aclose()
            raise UpstreamFailure(
                "first_byte", f"{self.name}: no first token within {self.timeouts.first_byte_s:g}s"
            ) from None
        except StopAsyncIteration:
            await response.aclose()
            raise UpstreamFailure("malformed", f"{self.name}: empty response") from None
        except httpx.HTTPError as exc:
            await response.aclose()
            raise UpstreamFailure("connect", f"{self.name}: {exc!r}") from None
        first_byte_ms = (time.perf_counter() - started) * 1000
        self.last_latency_ms = first_byte_ms
        self.first_byte.add(first_byte_ms)
        return Opened(response, first, chunks, first_byte_ms)

    async def healthy(self) -> tuple[bool, str]:
        """Does it answer at all (GET /models within the connect timeout)? And if not, why."""
        try:
            response = await self.client.get(
                f"{self.settings.base_url}/models",
                headers=self.headers(),
                timeout=self.timeouts.connect_s,
            )
        except httpx.HTTPError as exc:
            return False, f"{self.label}: health probe failed: {exc!r}"
        if response.status_code >= 500:
            return False, f"{self.label}: health probe got HTTP {response.status_code}"
        return True, ""

    @property
    def able(self) -> bool:
        """Configured, and its breaker lets requests through."""
        return self.configured and self.breaker.state != "open"

    def health(self) -> dict[str, object]:
        """up, degraded (failing but closed, or probing), breaker_open or not_configured."""
        breaker = self.breaker
        if not self.configured:
            state = "not_configured"
        elif breaker.state == "open":
            state = "breaker_open"
        elif breaker.state == "half_open" or breaker.consecutive_failures:
            state = "degraded"
        else:
            state = "up"
        return {
            "status": state,
            "base_url": self.settings.base_url,
            "protocol": self.protocol,
            "breaker": breaker.state,
            "consecutive_failures": breaker.consecutive_failures,
            "retry_in_s": breaker.retry_in_s(),
            "last_error": breaker.last_error,
            "last_first_byte_ms": self.last_latency_ms,
        }

    async def list_models(self) -> list[str]:
        """GET /models, cached for a minute; an unreachable server lists nothing."""
        now = time.monotonic()
        if self._models is not None and now - self._models[0] < _MODELS_TTL_S:
            return self._models[1]
        try:
            data: Any = await self.get_json("/models")
            models = [
                str(m["id"]) for m in data.get("data", []) if isinstance(m, dict) and "id" in m
            ]
        except (httpx.HTTPError, ValueError, AttributeError, KeyError):
            models = []
        self._models = (now, models)
        return models

    async def get_json(self, path: str) -> object:
        response = await self.client.get(
            f"{self.settings.base_url}{path}",
            headers=self.headers(),
            timeout=self.timeouts.connect_s,
        )
        response.raise_for_status()
        return response.json()
