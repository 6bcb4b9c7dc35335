"""brainrouter's router as a library, without the daemon: decide where a request would go, and
send it there with fallback, sync or async. The same settings (`ProxySettings`: the `proxy:`
section of brainrouter.yaml) and the same code as the daemon's proxy: routing, translation
between the OpenAI, Anthropic and Responses formats, breakers, fallback and the privacy guard.
What the daemon adds is left out: no routing events or ledger are written, and there is no
in-process model (set `proxy.local.base_url` for a local route).

    from proxy import Brainrouter

    with Brainrouter({"cloud": {"base_url": "https://gw/v1", "model": "gpt-5"},
                      "local": {"base_url": "http://127.0.0.1:8080/v1", "model": "qwen"}}) as br:
        choice = br.decide({"model": "auto", "messages": [{"role": "user", "content": "hi"}]})
        answer = br.complete({"model": "auto", "messages": [...]})
        print(choice.route, answer.route, answer.body["choices"][0]["message"]["content"])

The async methods (`adecide`, `acomplete`, `aclose`, `async with`) run on the caller's loop;
the sync ones on a loop of the instance's own, in a thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson

from proxy import validate
from proxy.formats import FORMATS
from proxy.pipeline import ProxyService
from proxy.routing import Features, RoutingError, conversation_key
from proxy.settings import Protocol, ProxySettings

T = TypeVar("T")


class BrainrouterError(RuntimeError):
    """A request that could not be routed or answered; `status` is the HTTP status the daemon
    would have answered, and the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Choice:
    """Where a request would go."""

    route: str  # local or cloud
    model: str  # the model the upstream is asked for
    mode: str  # auto, local, cloud, or model (a concrete model name)
    reason: str
    score: float | None  # the router's, for auto


@dataclass(frozen=True)
class Answer:
    """An upstream's whole answer, in the request's own format."""

    body: dict[str, Any]
    route: str  # the upstream that answered (local when the cloud failed)
    model: str
    fallback: bool


class Brainrouter:
    def __init__(self, settings: ProxySettings | Mapping[str, Any] | None = None) -> None:
        self.settings = (
            settings
            if isinstance(settings, ProxySettings)
            else ProxySettings.model_validate(dict(settings or {}))
        )
        self._services: dict[asyncio.AbstractEventLoop, tuple[Any, ProxyService]] = {}
        self._thread: _LoopThread | None = None

    @classmethod
    def from_yaml(cls, path: str | Path) -> Brainrouter:
        """The `proxy:` section of a brainrouter.yaml."""
        import yaml

        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: not a YAML mapping")
        return cls(data.get("proxy") or {})

    # ------------------------------------------------------------------ async
    def _service(self) -> ProxyService:
        loop = asyncio.get_running_loop()
        if loop not in self._services:
            import httpx

            timeouts = self.settings.timeouts
            client = httpx.AsyncClient(
                timeout=httpx.Timeout(timeouts.total_s, connect=timeouts.connect_s)
            )
            self._services[loop] = (client, ProxyService(self.settings, client, events=None))
        return self._services[loop][1]

    @staticmethod
    def _checked(request: Mapping[str, Any], protocol: Protocol) -> dict[str, Any]:
        body = dict(request)
        try:
            FORMATS[protocol].check(body)
        except validate.Malformed as exc:
            raise BrainrouterError(400, str(exc)) from None
        return body

    async def adecide(self, request: Mapping[str, Any], protocol: Protocol = "openai") -> Choice:
        """Where `request` (a body in `protocol`'s format) would go; nothing is sent."""
        body = self._checked(request, protocol)
        chat, _names = FORMATS[protocol].request_to_chat(body)
        features = Features.of(chat, conversation_key(body, chat, {}))
        try:
            decision = await self._service().router.decide(str(body["model"]), features)
        except RoutingError as exc:
            raise BrainrouterError(exc.status, str(exc)) from None
        return Choice(
            decision.route, decision.model, decision.mode, decision.reason, decision.score
        )

    async def acomplete(self, request: Mapping[str, Any], protocol: Protocol = "openai") -> Answer:
        """Send `request` where it goes, falling back to the local upstream when the cloud
        fails; the whole answer (streaming is the daemon's)."""
        body = self._checked(request, protocol)
        if body.get("stream"):
            raise BrainrouterError(400, "complete() answers whole: leave stream unset")
        response = await self._service().handle(protocol, body, {})
        try:
            data = orjson.loads(bytes(response.body))
        except orjson.JSONDecodeError:
            raise BrainrouterError(502, "the upstream's answer is not JSON") from None
        if response.status_code >= 400:
            error = data.get("error") if isinstance(data, dict) else None
            message = error.get("message") if isinstance(error, dict) else str(data)
            raise BrainrouterError(response.status_code, str(message))
        headers = response.headers
        return Answer(
            data,
            headers.get("x-brainrouter-route", ""),
            headers.get("x-brainrouter-model", ""),
            headers.get("x-brainrouter-fallback") == "true",
        )

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        if loop in self._services:
            client, _service = self._services.pop(loop)
            await client.aclose()

    async def __aenter__(self) -> Brainrouter:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ sync
    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        if self._thread is None:
            self._thread = _LoopThread()
        return self._thread.run(work)

    def decide(self, request: Mapping[str, Any], protocol: Protocol = "openai") -> Choice:
        return self._run(self.adecide(request, protocol))

    def complete(self, request: Mapping[str, Any], protocol: Protocol = "openai") -> Answer:
        return self._run(self.acomplete(request, protocol))

    def close(self) -> None:
        if self._thread is not None:
            self._run(self.aclose())
            self._thread.stop()
            self._thread = None

    def __enter__(self) -> Brainrouter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class _LoopThread:
    """An event loop of its own, in a thread: the sync methods' calls run there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="brainrouter-library", daemon=True
        )
        self._thread.start()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()
