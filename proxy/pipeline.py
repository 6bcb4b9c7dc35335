"""One proxied request, end to end: decide the route, try the upstream (falling back to the
local one when the cloud fails before answering), translate, stream, record."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from starlette.responses import Response

import prompts
from proxy.classifier import build_classifier
from proxy.errors import error_response
from proxy.events import EventRecorder, harness_of, project_dir_of
from proxy.lease import Lease, LeasedStream
from proxy.model_server import ModelServer
from proxy.privacy import PrivacyGuard
from proxy.rewrite import fold_system, rewrite
from proxy.routing import (
    Classifier,
    Features,
    Router,
    RoutingError,
    conversation_key,
)
from proxy.settings import Protocol, ProxySettings
from proxy.sse import KEEPALIVE
from proxy.streams import MalformedStream, StreamAdapter, adapter
from proxy.translate import anthropic, responses, to_chat
from proxy.translate.to_chat import UpstreamStreamError
from proxy.translate.upstream_requests import request_for
from proxy.upstream import (
    Opened,
    ProxySaturated,
    Upstream,
    UpstreamClientError,
    UpstreamFailure,
)

log = logging.getLogger("brainrouter.proxy")
_RETRY_AFTER_S = 2
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


@dataclass
class _Attempt:
    upstream: Upstream
    model: str


@dataclass
class _Trace:
    """What the routing event records, filled in as the request goes."""

    fields: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        self.fields["id"] = self.request_id  # the routing event's id: logs name it

    def set(self, **values: Any) -> None:
        self.fields.update(values)


def _stage_summary(stages: dict[str, Any]) -> dict[str, dict[str, float]]:
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


class ProxyService:
    def __init__(
        self,
        settings: ProxySettings,
        client: httpx.AsyncClient,
        events: EventRecorder | None,
        classifier: Classifier | None = None,
        model: ModelServer | None = None,
        privacy: PrivacyGuard | None = None,
    ) -> None:
        self.settings = settings
        self.privacy = privacy
        self.events = events
        self.model = model
        self.cloud = Upstream.of("cloud", settings.cloud, client, settings)
        self.local = Upstream.of("local", settings.local, client, settings)
        self.router = Router(settings, classifier or build_classifier(settings), self.local_models)
        self.lean_prompt = prompts.load("local_system.md", settings.local_system_prompt)
        self.in_flight = {"cloud": 0, "local": 0}

    async def local_models(self) -> list[str]:
        """The local server's models (llama-swap, Ollama...) and those named in config."""
        listed = await self.local.list_models() if self.local.configured else []
        return list(dict.fromkeys([*self.settings.local.models, *listed]))

    def health(self) -> dict[str, Any]:
        model = self.model.describe() if self.model else None
        if model is None or model["status"] in ("ready", "not loaded", "loading"):
            classifier_state = "up"
        else:
            classifier_state = "degraded"  # the learned stage works; the model judge cannot
        return {
            "cloud": self.cloud.health(),
            "local": self.local.health(),
            "classifier": {
                "status": classifier_state,
                "kind": type(self.router.classifier).__name__,
                "model": model,
                # Decision latency of each stage over the recent decisions (p50, p99 in ms).
                "stage_ms": _stage_summary(getattr(self.router.classifier, "stage_ms", {})),
            },
        }

    # ------------------------------------------------------------------ requests
    @staticmethod
    def _chat_view(
        protocol: Protocol, body: dict[str, Any]
    ) -> tuple[dict[str, Any], responses.ToolNames]:
        if protocol == "anthropic":
            return anthropic.request_to_chat(body), responses.ToolNames()
        if protocol == "responses":
            return responses.request_to_chat(body)
        return body, responses.ToolNames()

    async def handle(
        self, protocol: Protocol, body: dict[str, Any], headers: dict[str, str]
    ) -> Response:
        trace = _Trace()
        try:
            return await self._handle(protocol, body, headers, trace)
        except asyncio.CancelledError:
            # The client left before an answer (routes.py cancels on disconnect): the upstream
            # call was cancelled with it, and its lease released.
            self._record(trace, status="client_cancelled", http_status=499)
            log.info(
                "[%s] the client left before the answer; upstream call cancelled", trace.request_id
            )
            raise

    async def _handle(
        self, protocol: Protocol, body: dict[str, Any], headers: dict[str, str], trace: _Trace
    ) -> Response:
        chat_view, names = self._chat_view(protocol, body)
        features = Features.of(chat_view, conversation_key(body, chat_view, headers))
        # Where the project lives: Claude Code says it in the system prompt, Codex in an
        # <environment_context> user message.
        texts = [
            (m.get("role"), str(m.get("content")))
            for m in chat_view.get("messages", [])
            if m.get("role") in ("system", "developer", "user")
        ]
        system_text = "\n".join(
            text for role, text in texts if role != "user" or "<environment_context>" in text
        )
        stream = bool(body.get("stream"))
        trace.set(
            client_protocol=protocol,
            requested_model=str(body.get("model")),
            stream=stream,
            harness=harness_of(headers.get("user-agent", ""), headers),
            prompt_excerpt=self._excerpt(features.latest_user_text),
            project_dir=project_dir_of(system_text),
        )
        try:
            decision = await self.router.decide(str(body.get("model") or ""), features)
        except RoutingError as exc:
            return self._fail(trace, protocol, exc.status, str(exc))
        trace.set(
            mode=decision.mode,
            decision=decision.route,
            reason=decision.reason,
            score=decision.score,
            decision_ms=decision.decision_ms,
        )
        if decision.route == "cloud" and self.privacy is not None and self.privacy.mode != "off":
            guarded = self._guard(protocol, body, trace)
            if isinstance(guarded, Response):
                return guarded
            action, guarded_body, note = guarded
            if action == "redact":
                body = guarded_body
                chat_view, names = self._chat_view(protocol, body)
            elif action == "local":
                decision = self.router.local_instead(decision, note)
                trace.set(decision=decision.route, reason=decision.reason)
        attempts = [
            _Attempt(self.cloud if decision.route == "cloud" else self.local, decision.model)
        ]
        fallback_model = self.settings.local.fallback_model or self.settings.local.model
        if decision.route == "cloud" and self.local.configured and fallback_model:
            attempts.append(_Attempt(self.local, fallback_model))

        failures: list[str] = []
        breaker_open = False
        for attempt in attempts:
            upstream = attempt.upstream
            if failures:
                trace.set(fallback=True, fallback_reason="; ".join(failures))
                log.warning("[%s] falling back: %s", trace.request_id, "; ".join(failures))
            if not upstream.breaker.allow():
                breaker_open = True
                failures.append(f"{upstream.name} circuit breaker open")
                continue
            trace.set(upstream=upstream.name, model=attempt.model)
            try:
                payload = self._payload(
                    protocol, body, chat_view, upstream, attempt.model, decision.mode
                )
            except orjson.JSONEncodeError:  # orjson writes at most 254 levels of nesting
                upstream.breaker.release()
                return self._fail(trace, protocol, 400, "request body is nested too deeply")
            if not await upstream.admit():
                upstream.breaker.release()
                return self._saturated(
                    trace,
                    protocol,
                    f"{upstream.max_connections} {upstream.name} requests in flight",
                )
            lease = Lease(upstream.name, upstream.breaker, self.in_flight, upstream.slots)
            try:
                opened = await upstream.open(
                    payload, self._passthrough_headers(protocol, upstream, headers)
                )
            except ProxySaturated as exc:
                lease.close()
                return self._saturated(trace, protocol, str(exc))
            except UpstreamFailure as exc:
                lease.failed(str(exc))
                lease.close()
                failures.append(str(exc))
                continue
            except UpstreamClientError as exc:
                lease.succeeded()  # it answered: the request was at fault
                lease.close()
                return self._client_error(trace, protocol, upstream.protocol, exc)
            except BaseException:
                lease.close()  # cancelled (the client left): no verdict
                raise
            trace.set(first_byte_ms=opened.first_byte_ms)
            stream_adapter = adapter(upstream.protocol, protocol, body, names, attempt.model)
            if stream:
                return LeasedStream(
                    self._stream(opened, upstream, lease, stream_adapter, trace),
                    lease=lease,
                    on_abandoned=functools.partial(self._abandoned, trace, opened),
                    media_type="text/event-stream",
                    headers={**SSE_HEADERS, **self._route_headers(trace)},
                )
            try:
                response = await self._whole(
                    protocol, opened, upstream, body, names, attempt.model, trace
                )
                lease.succeeded()
                return response
            except UpstreamFailure as exc:
                lease.failed(str(exc))
                failures.append(str(exc))
            finally:
                lease.close()
        return self._fail(
            trace,
            protocol,
            503 if breaker_open else 502,
            "no upstream could answer: " + "; ".join(failures),
        )

    async def _abandoned(self, trace: _Trace, opened: Opened) -> None:
        """The client left before its stream started: close the upstream's answer, record it."""
        self._record(trace, status="client_cancelled", http_status=499)
        with contextlib.suppress(Exception):
            await opened.response.aclose()

    def _excerpt(self, text: str) -> str:
        excerpt = text[:300]
        return self.privacy.text(excerpt)[0] if self.privacy is not None else excerpt

    def _guard(
        self, protocol: Protocol, body: dict[str, Any], trace: _Trace
    ) -> tuple[str, dict[str, Any], str] | Response:
        """Secrets in a request bound for the cloud: redacted, kept local or refused.
        Returns (what to do: none | redact | local, the body to send, why) or the refusal."""
        assert self.privacy is not None
        try:
            scan = self.privacy.scan(body)
        except RecursionError:
            return self._fail(trace, protocol, 400, "request body is nested too deeply")
        if not scan.found:
            return "none", body, ""
        mode = self.privacy.mode
        if mode == "local" and not self.local.configured:
            mode = "block"
        note = {
            "redact": f"redacted {scan.describe()}",
            "local": f"kept local: {scan.describe()}",
            "block": f"refused: {scan.describe()}",
        }[mode]
        trace.set(privacy=note)
        log.warning("request for the cloud held secrets: %s (proxy.privacy: %s)", note, mode)
        if mode == "block":
            return self._fail(
                trace,
                protocol,
                400,
                f"this request holds {scan.describe()} and proxy.privacy is block: remove them "
                "or send it to model=local",
            )
        return mode, scan.body if mode == "redact" else body, note

    def _payload(
        self,
        protocol: Protocol,
        body: dict[str, Any],
        chat_view: dict[str, Any],
        upstream: Upstream,
        model: str,
        mode: str,
    ) -> bytes:
        lean = (
            upstream.name == "local"
            and self.settings.local_rewrite
            and (mode in ("local",) or (mode == "auto" and self.settings.local_rewrite_auto))
        )
        fold = upstream.protocol == "openai" and upstream.settings.system_first
        if upstream.protocol == protocol:
            out = {**body, "model": model}
            out = rewrite(protocol, out, self.lean_prompt) if lean else out
            if fold:
                out["messages"] = fold_system(out.get("messages") or [])
            return orjson.dumps(out)
        chat = {**chat_view, "model": model}
        if lean:
            chat = rewrite("openai", chat, self.lean_prompt)
        if fold:
            chat["messages"] = fold_system(chat.get("messages") or [])
        return orjson.dumps(
            request_for(upstream.protocol, chat, upstream.settings.max_output_tokens)
        )

    @staticmethod
    def _passthrough_headers(
        protocol: Protocol, upstream: Upstream, headers: dict[str, str]
    ) -> dict[str, str]:
        # Anthropic's gateway protocol for Claude Code: forward both unchanged.
        if protocol == upstream.protocol == "anthropic":
            return {k: headers[k] for k in ("anthropic-beta", "anthropic-version") if k in headers}
        return {}

    async def _whole(
        self,
        protocol: Protocol,
        opened: Opened,
        upstream: Upstream,
        body: dict[str, Any],
        names: responses.ToolNames,
        model: str,
        trace: _Trace,
    ) -> Response:
        try:
            async with asyncio.timeout(self.settings.timeouts.total_s):
                raw = opened.first_chunk + b"".join([chunk async for chunk in opened.chunks])
        except (TimeoutError, httpx.HTTPError) as exc:
            raise UpstreamFailure(
                "timeout", f"{upstream.name}: reading the answer failed ({exc!r})"
            ) from None
        finally:
            await opened.response.aclose()
        try:
            data = orjson.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except ValueError:
            raise UpstreamFailure(
                "malformed", f"{upstream.name}: answer is not JSON: {raw[:120]!r}"
            ) from None
        if upstream.protocol == protocol:
            content = raw  # untouched
            usage = data.get("usage") or {}
            tokens = (
                usage.get("prompt_tokens", usage.get("input_tokens")),
                usage.get("completion_tokens", usage.get("output_tokens")),
            )
        else:
            chat = to_chat.response_to_chat(upstream.protocol, data)
            usage = chat.get("usage") or {}
            tokens = (usage.get("prompt_tokens"), usage.get("completion_tokens"))
            if protocol == "anthropic":
                out = anthropic.response_from_chat(chat, model)
            elif protocol == "responses":
                out = responses.response_from_chat(chat, body, names, model)
            else:
                out = chat
            content = orjson.dumps(out)
        self._record(
            trace, status="ok", http_status=200, input_tokens=tokens[0], output_tokens=tokens[1]
        )
        return Response(content, media_type="application/json", headers=self._route_headers(trace))

    async def _stream(
        self,
        opened: Opened,
        upstream: Upstream,
        lease: Lease,
        stream_adapter: StreamAdapter,
        trace: _Trace,
    ) -> AsyncIterator[bytes]:
        timeouts = self.settings.timeouts
        pending: asyncio.Task[bytes] | None = None
        outcome = "client_closed"
        error: str | None = None

        async def next_chunk() -> bytes:
            return await anext(opened.chunks)

        try:
            first = stream_adapter.feed(opened.first_chunk)
            if first:
                yield first
            last_data = time.monotonic()
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(next_chunk())
                done, _ = await asyncio.wait(
                    {pending}, timeout=min(timeouts.keepalive_s, timeouts.stall_s)
                )
                if not done:
                    if time.monotonic() - last_data >= timeouts.stall_s:
                        raise UpstreamFailure(
                            "stall", f"{upstream.name}: stream stalled for {timeouts.stall_s:g}s"
                        )
                    if stream_adapter.at_boundary:
                        yield KEEPALIVE
                    continue
                try:
                    chunk = pending.result()
                except StopAsyncIteration:
                    if not stream_adapter.finished:
                        # Closed cleanly, but before its final event: the answer is cut short.
                        raise UpstreamFailure(
                            "truncated",
                            f"{upstream.name}: the stream ended before its final event",
                        ) from None
                    break
                finally:
                    pending = None
                last_data = time.monotonic()
                out = stream_adapter.feed(chunk)
                if out:
                    yield out
                if stream_adapter.ended:
                    break
            tail = stream_adapter.finish()
            if tail:
                yield tail
            outcome = "ok"
            lease.succeeded()
        except (UpstreamFailure, MalformedStream, UpstreamStreamError, httpx.HTTPError) as exc:
            outcome, error = "upstream_error", str(exc) or type(exc).__name__
            lease.failed(error)
            log.warning("[%s] %s stream failed: %s", trace.request_id, upstream.name, error)
            yield stream_adapter.error(error)
        finally:
            if pending is not None:
                pending.cancel()
            if outcome == "client_closed" and stream_adapter.complete:
                outcome = "ok"  # the client read the last event and hung up first
                lease.succeeded()
            lease.close()  # the client left mid-stream: no verdict, the probe slot is freed
            with contextlib.suppress(Exception):
                await opened.response.aclose()
            self._record(
                trace,
                status=outcome,
                http_status=200,
                error=error,
                input_tokens=stream_adapter.input_tokens,
                output_tokens=stream_adapter.output_tokens,
            )

    # ------------------------------------------------------------------ helpers
    def _client_error(
        self,
        trace: _Trace,
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

    def _saturated(self, trace: _Trace, protocol: Protocol, why: str) -> Response:
        message = f"brainrouter is saturated ({why}); retry in a few seconds"
        log.warning("[%s] %s", trace.request_id, message)
        self._record(trace, status="saturated", http_status=503, error=message)
        return error_response(protocol, 503, message, retry_after_s=_RETRY_AFTER_S)

    def _fail(self, trace: _Trace, protocol: Protocol, status: int, message: str) -> Response:
        self._record(trace, status="error", http_status=status, error=message)
        return error_response(protocol, status, message)

    @staticmethod
    def _route_headers(trace: _Trace) -> dict[str, str]:
        f = trace.fields
        return {
            "x-brainrouter-route": str(f.get("upstream", "")),
            "x-brainrouter-model": str(f.get("model", "")),
            "x-brainrouter-fallback": "true" if f.get("fallback") else "false",
        }

    def _record(self, trace: _Trace, **values: Any) -> None:
        if self.events is None:
            return
        trace.set(total_ms=(time.perf_counter() - trace.started) * 1000, **values)
        self.events.record(**trace.fields)
