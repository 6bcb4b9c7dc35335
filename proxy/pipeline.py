"""One proxied request, end to end: decide the route, guard what leaves for the cloud, try
the upstream under a lease (falling back to the local one when the cloud fails before
answering), then hand the answer to answer.py, which translates, streams and records."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from starlette.responses import Response

import prompts
from proxy import payload as upstream_payload
from proxy import pool, privacy
from proxy.answer import Answer
from proxy.classifier import build_classifier
from proxy.errors import error_response
from proxy.escalations import Escalations
from proxy.events import EventRecorder
from proxy.incoming import Incoming
from proxy.internal import Asked, Internal, read_answer
from proxy.lease import Lease, LeasedStream
from proxy.model_server import ModelServer
from proxy.pool import UpstreamPool
from proxy.privacy import PrivacyGuard
from proxy.routing import (
    Classifier,
    Decision,
    Router,
    RoutingError,
    stage_summary,
)
from proxy.settings import Protocol, ProxySettings
from proxy.streams import adapter
from proxy.trace import Trace
from proxy.upstream import (
    Opened,
    ProxySaturated,
    Upstream,
    UpstreamClientError,
    UpstreamFailure,
)

log = logging.getLogger("brainrouter.proxy")
_RETRY_AFTER_S = 2
_FAILOVER = "every local server failed: failover to the cloud (opted in)"
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


@dataclass(frozen=True)
class _Failed:
    """Why one upstream could not answer; the next one is tried."""

    why: str
    breaker_open: bool = False


class ProxyService:
    def __init__(
        self,
        settings: ProxySettings,
        client: httpx.AsyncClient,
        events: EventRecorder | None,
        classifier: Classifier | None = None,
        model: ModelServer | None = None,
        privacy: PrivacyGuard | None = None,
        escalations: Escalations | None = None,
        observer: Callable[[dict[str, Any]], None] | None = None,
        over_budget: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.settings = settings
        self.privacy = privacy
        # Sees every routing event as it is recorded (the daemon's /metrics counts them).
        self.observer = observer
        self.events = events
        self.model = model
        self.in_flight: dict[str, int] = {}
        self.clouds = UpstreamPool.of("cloud", settings, client, self.in_flight)
        self.cloud = self.clouds.primary  # its settings and health speak for the route
        self.locals = UpstreamPool.of("local", settings, client, self.in_flight)
        self.in_flight.update({u.label: 0 for u in self.locals.members})
        self.local = self.locals.primary  # its settings, models and health speak for the route
        self.router = Router(
            settings,
            classifier or build_classifier(settings),
            self.local_models,
            escalations,
            first_byte_ms=lambda route: self._upstream(route).first_byte.value,
            able=lambda route: self._upstream(route).able,
            over_budget=over_budget,
        )
        self.lean_prompt = prompts.load("local_system.md", settings.local_system_prompt)
        self.answer = Answer(settings.timeouts, self._record)

    def _upstream(self, route: str) -> Upstream:
        local_model = self.settings.local.model or ""
        if route == "cloud":
            return self.clouds.order(self.settings.cloud.model or "")[0]
        return self.locals.order(local_model)[0]

    async def local_models(self) -> list[str]:
        """The local server's models (llama-swap, Ollama...) and those named in config."""
        listed = await self.local.list_models() if self.local.configured else []
        return list(dict.fromkeys([*self.settings.local.models, *listed]))

    def health(self) -> dict[str, Any]:
        model = self.model.describe() if self.model else None
        if model is None or model["status"] in ("ready", "not loaded", "loading"):
            classifier_state = "up"
        else:
            classifier_state = "degraded"  # stage 1 works; the model judge cannot
        return {
            "cloud": self.cloud.health(),
            "local": self.local.health(),
            # every server of the local route, when there are several (proxy.local.instances)
            "local_servers": {u.label: u.health() for u in self.locals.members},
            "cloud_servers": {u.label: u.health() for u in self.clouds.members},
            "classifier": {
                "status": classifier_state,
                # which stage-1 scorer decides: "length router", "learned router" or the rules
                "kind": getattr(getattr(self.router.classifier, "scorer", None), "name", "rules"),
                "model": model,
                # Decision latency of each stage over the recent decisions (p50, p99 in ms).
                "stage_ms": stage_summary(getattr(self.router.classifier, "stage_ms", {})),
            },
        }

    # ------------------------------------------------------------------ requests
    async def handle(
        self, protocol: Protocol, body: dict[str, Any], headers: dict[str, str]
    ) -> Response:
        trace = Trace()
        try:
            request = Incoming.read(protocol, body, headers, self.settings.scenarios)
            return await self._handle(request, trace)
        except asyncio.CancelledError:
            # The client left before an answer (disconnect.py cancels): the upstream
            # call was cancelled with it, and its lease released.
            self._record(trace, status="client_cancelled", http_status=499)
            log.info(
                "[%s] the client left before the answer; upstream call cancelled", trace.request_id
            )
            raise

    async def ask(
        self,
        route: str,
        messages: list[dict[str, Any]],
        *,
        traffic: str,
        model: str | None = None,
        project_dir: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Asked:
        """A chat request from inside the daemon (the review loop's) on `route` (or on `model`
        where it lives): the same routing, upstreams, keys, breakers, fallback and routing
        events as a harness's request, labelled `traffic`. The lean local prompt never
        replaces what it says. Raises AskFailed."""
        body: dict[str, Any] = {"model": model or route, "messages": messages, "stream": False}
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if temperature is not None:
            body["temperature"] = temperature
        trace = Trace()
        request = Incoming.read(
            "openai", body, {}, self.settings.scenarios, Internal(traffic, project_dir)
        )
        response = await self._handle(request, trace)
        return read_answer(response, trace.fields, route)

    async def _handle(self, request: Incoming, trace: Trace) -> Response:
        self._describe(request, trace)
        try:
            decision = await self.router.decide(
                str(request.body.get("model") or ""),
                request.features,
                # the review's own requests are not the agent's work
                request.project_dir if request.internal is None else None,
                request.scenario,
            )
        except RoutingError as exc:
            return self._fail(trace, request.protocol, exc.status, str(exc))
        trace.set(
            mode=decision.mode,
            decision=decision.route,
            reason=decision.reason,
            score=decision.score,
            decision_ms=decision.decision_ms,
        )
        guarded = self._guard(request, decision, trace)
        if isinstance(guarded, Response):
            return guarded
        request, decision = guarded
        return await self._send(request, decision, trace)

    def _describe(self, request: Incoming, trace: Trace) -> None:
        """What the routing event says of the request, whatever becomes of it."""
        trace.set(
            client_protocol=request.protocol,
            requested_model=str(request.body.get("model")),
            stream=request.stream,
            harness=request.internal.traffic if request.internal else request.harness,
            prompt_excerpt=self._excerpt(request.features.latest_user_text),
            project_dir=request.project_dir,
            scenario=request.scenario[0] if request.scenario else None,
        )

    def _guard(
        self, request: Incoming, decision: Decision, trace: Trace
    ) -> tuple[Incoming, Decision] | Response:
        """The privacy guard on what would leave for the cloud: as is, redacted, kept local,
        or refused (proxy/privacy.py)."""
        if decision.route != "cloud" or self.privacy is None or self.privacy.mode == "off":
            return request, decision
        try:
            guarded = privacy.verdict(self.privacy, request.body, self.local.configured)
        except RecursionError:
            return self._fail(trace, request.protocol, 400, "request body is nested too deeply")
        if guarded.action != "none":
            trace.set(privacy=guarded.note)
            log.warning("request for the cloud held secrets: %s", guarded.note)
        if guarded.action == "block":
            return self._fail(trace, request.protocol, 400, guarded.refusal)
        if guarded.action == "redact":
            request = request.with_body(guarded.body)
        elif guarded.action == "local":
            decision = self.router.local_instead(decision, guarded.note)
            trace.set(decision=decision.route, reason=decision.reason)
        return request, decision

    async def _send(self, request: Incoming, decision: Decision, trace: Trace) -> Response:
        """Each able server of the route in turn (then the fallbacks) until one answers."""
        failures: list[str] = []
        breaker_open = False
        for upstream, model in pool.attempts(
            decision.route, decision.model, self.clouds, self.locals
        ):
            if upstream.name == "cloud" and decision.route == "local" and _FAILOVER not in failures:
                failures.append(_FAILOVER)
            if failures:
                trace.set(fallback=True, fallback_reason="; ".join(failures))
                log.warning("[%s] falling back: %s", trace.request_id, "; ".join(failures))
            outcome = await self._attempt(request, decision, upstream, model, trace)
            if isinstance(outcome, Response):
                return outcome
            breaker_open = breaker_open or outcome.breaker_open
            failures.append(outcome.why)
        return self._fail(
            trace,
            request.protocol,
            503 if breaker_open else 502,
            "no upstream could answer: " + "; ".join(failures),
        )

    async def _attempt(
        self, request: Incoming, decision: Decision, upstream: Upstream, model: str, trace: Trace
    ) -> Response | _Failed:
        """One upstream under a lease: its answer (or the client's error), or why it failed."""
        protocol = request.protocol
        try:
            body_bytes = upstream_payload.build(
                self.settings,
                self.lean_prompt,
                protocol,
                request.body,
                request.chat_view,
                upstream,
                model,
                decision.mode if request.internal is None else "internal",
            )
        except orjson.JSONEncodeError:  # orjson writes at most 254 levels of nesting
            return self._fail(trace, protocol, 400, "request body is nested too deeply")
        lease = await Lease.take(
            upstream.label,
            upstream.breaker,
            self.in_flight,
            upstream.slots,
            self.settings.timeouts.connect_s,
        )
        if lease == "breaker_open":
            return _Failed(f"{upstream.name} circuit breaker open", breaker_open=True)
        if lease == "saturated":
            return self._saturated(
                trace,
                protocol,
                f"{self.settings.max_connections} {upstream.name} requests in flight",
            )
        trace.set(upstream=upstream.name, model=model)
        try:
            opened = await upstream.open(
                body_bytes,
                upstream_payload.passthrough_headers(protocol, upstream, request.headers),
            )
        except ProxySaturated as exc:
            lease.close()
            return self._saturated(trace, protocol, str(exc))
        except UpstreamFailure as exc:
            lease.failed(str(exc))
            lease.close()
            return _Failed(str(exc))
        except UpstreamClientError as exc:
            lease.succeeded()  # it answered: the request was at fault
            lease.close()
            return self._client_error(trace, protocol, upstream.protocol, exc)
        except BaseException:
            lease.close()  # cancelled (the client left): no verdict
            raise
        trace.set(first_byte_ms=opened.first_byte_ms)
        if request.stream:
            stream_adapter = adapter(
                upstream.protocol, protocol, request.body, request.names, model
            )
            return LeasedStream(
                self.answer.stream(opened, upstream, lease, stream_adapter, trace),
                lease=lease,
                on_abandoned=functools.partial(self._abandoned, trace, opened),
                media_type="text/event-stream",
                headers={**SSE_HEADERS, **trace.route_headers()},
            )
        try:
            response = await self.answer.whole(
                protocol, opened, upstream, request.body, request.names, model, trace
            )
            lease.succeeded()
            return response
        except UpstreamFailure as exc:
            lease.failed(str(exc))
            return _Failed(str(exc))
        finally:
            lease.close()

    async def _abandoned(self, trace: Trace, opened: Opened) -> None:
        """The client left before its stream started: close the upstream's answer, record it."""
        self._record(trace, status="client_cancelled", http_status=499)
        with contextlib.suppress(Exception):
            await opened.response.aclose()

    def _excerpt(self, text: str) -> str:
        excerpt = text[:300]
        return self.privacy.text(excerpt)[0] if self.privacy is not None else excerpt

    # ------------------------------------------------------------------ helpers
    def _client_error(
        self,
        trace: Trace,
        protocol: Protocol,
        upstream_protocol: Protocol,
        exc: UpstreamClientError,
    ) -> Response:
        if upstream_protocol == protocol:
            self._record(trace, status="client_error", http_status=exc.status)
            return Response(exc.body, status_code=exc.status, media_type=exc.content_type)
        try:
            data = orjson.loads(exc.body)
            message = str((data.get("error") or {}).get("message") or data)
        except (ValueError, AttributeError):
            message = exc.body.decode(errors="replace")[:500]
        return self._fail(trace, protocol, exc.status, f"upstream refused the request: {message}")

    def _saturated(self, trace: Trace, protocol: Protocol, why: str) -> Response:
        message = f"brainrouter is saturated ({why}); retry in a few seconds"
        log.warning("[%s] %s", trace.request_id, message)
        self._record(trace, status="saturated", http_status=503, error=message)
        return error_response(protocol, 503, message, retry_after_s=_RETRY_AFTER_S)

    def _fail(self, trace: Trace, protocol: Protocol, status: int, message: str) -> Response:
        self._record(trace, status="error", http_status=status, error=message)
        return error_response(protocol, status, message)

    def _record(self, trace: Trace, **values: Any) -> None:
        trace.set(total_ms=(time.perf_counter() - trace.started) * 1000, **values)
        if self.events is not None:
            self.events.record(**trace.fields)
        if self.observer is not None:
            self.observer(trace.fields)
