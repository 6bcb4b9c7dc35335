"""A client that disconnects before its answer starts cancels the work done for it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from starlette.requests import Request
from starlette.responses import Response

# A client that leaves is noticed within this long.
_WATCH_AFTER_S = 0.25


async def _client_left(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def unless_client_leaves(request: Request, work: Awaitable[Response]) -> Response:
    """Until the answer starts, a client that disconnects cancels the work: nobody would read
    it (the proxy's upstream request, which the cloud would bill; the embedded model's
    generation). The work runs in this task; a watcher that cancels it starts only once the
    work has taken a while, as a waiting watcher costs every request (most answers start
    within milliseconds)."""
    this = asyncio.current_task()
    assert this is not None
    watcher: asyncio.Future[None] | None = None

    async def watch() -> None:
        await _client_left(request)
        this.cancel()

    def start_watching() -> None:
        nonlocal watcher
        watcher = asyncio.ensure_future(watch())

    timer = asyncio.get_running_loop().call_later(_WATCH_AFTER_S, start_watching)
    try:
        return await work
    except asyncio.CancelledError:
        if watcher is None or not watcher.done() or watcher.cancelled():
            raise  # cancelled from elsewhere (shutdown)
        this.uncancel()
        return Response(status_code=499)  # nobody is there to read it
    finally:
        timer.cancel()
        if watcher is not None:
            watcher.cancel()
