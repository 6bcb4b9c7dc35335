"""Reading an upstream's answer once it started: whole (JSON, translated for the client) or
streamed event by event (keep-alives during silences, an error event in the client's format
when the upstream stalls, breaks, sends garbage or stops before its final event), and the
routing event recorded at the end."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
from starlette.responses import Response

from proxy.formats import FORMATS
from proxy.lease import Lease
from proxy.settings import Protocol, TimeoutSettings
from proxy.sse import KEEPALIVE
from proxy.streams import MalformedStream, StreamAdapter
from proxy.trace import Trace
from proxy.translate.responses import ToolNames
from proxy.translate.to_chat import UpstreamStreamError
from proxy.upstream import Opened, Upstream, UpstreamFailure

log = logging.getLogger("brainrouter.proxy")
Record = Callable[..., None]


class Answer:
    def __init__(self, timeouts: TimeoutSettings, record: Record) -> None:
        self.timeouts = timeouts
        self._record = record

    async def whole(
        self,
        protocol: Protocol,
        opened: Opened,
        upstream: Upstream,
        body: dict[str, Any],
        names: ToolNames,
        model: str,
        trace: Trace,
    ) -> Response:
        try:
            async with asyncio.timeout(self.timeouts.total_s):
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
            raw_usage = data.get("usage")
            usage = FORMATS[protocol].usage_of(raw_usage if isinstance(raw_usage, dict) else {})
        else:
            chat = FORMATS[upstream.protocol].response_to_chat(data)
            usage = FORMATS["openai"].usage_of(chat.get("usage") or {})
            out = FORMATS[protocol].response_from_chat(chat, body, names, model)
            content = orjson.dumps(out)
        self._record(trace, status="ok", http_status=200, **usage.event_fields())
        return Response(content, media_type="application/json", headers=trace.route_headers())

    async def stream(
        self,
        opened: Opened,
        upstream: Upstream,
        lease: Lease,
        stream_adapter: StreamAdapter,
        trace: Trace,
    ) -> AsyncIterator[bytes]:
        timeouts = self.timeouts
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
                **stream_adapter.usage.event_fields(),
            )
