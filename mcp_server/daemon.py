"""`brainrouter serve`: one process, one FastAPI app — MCP over streamable HTTP at /mcp, the
review pages and API at /review, /health. It owns the one database engine."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry

from mcp_server import peer, startup
from mcp_server.admin import RequireToken, load_or_create_token, presented_token, valid
from mcp_server.config import Settings
from mcp_server.costs import DailyBudget
from mcp_server.dashboard import dashboard_router
from mcp_server.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from mcp_server.metrics import RequestMetrics, StateCollector, render
from mcp_server.process import raise_open_files_limit, tune_gc
from mcp_server.review_route import ProxyReviewers, adopt_legacy_reviewers
from mcp_server.security import (
    HostOriginGuard,
    allowed_hosts,
    allowed_origins,
    is_loopback,
)
from mcp_server.tools import build_mcp
from mcp_server.wiring import ProxyRuntime, ReviewRuntime, review_decider
from proxy.embedded import embedded_routes
from proxy.ledger import periods as ledger_periods
from proxy.routes import proxy_routes
from review.escalation import active_escalations
from review.runtime_config import shared_secret
from review.web import review_config_router, review_router

log = logging.getLogger("brainrouter")
# Long review rounds do not hold shutdown hostage: past this, they are cancelled and recorded
# as interrupted.
GRACEFUL_SHUTDOWN_S = 3


def build_app(settings: Settings) -> FastAPI:
    settings, deprecations = adopt_legacy_reviewers(settings)
    runtime = ReviewRuntime(settings)
    # Who is behind each loopback connection (filled by the HTTP protocol, see serve()): a
    # review runs only on a directory its asker may read.
    peers = peer.Peers()
    mcp_app = build_mcp(runtime.service, asker=peers.uid_of).http_app(path="/mcp")

    admin_token = load_or_create_token()
    # Open and migrate the database now: a bad database_url fails at start, not later.
    store = runtime.open_store()
    registry = CollectorRegistry()
    requests = RequestMetrics(registry, settings)
    budget = DailyBudget(settings.proxy.budget.cloud_usd_per_day, settings.dashboard.prices)

    def observe(event: dict[str, Any]) -> None:
        requests.observe(event)
        budget.observe(event)

    proxy = ProxyRuntime(settings, store, observer=observe, over_budget=budget.over)
    registry.register(
        StateCollector(
            lambda: {
                u.label: u.health()
                for u in (*proxy.service.clouds.members, *proxy.service.locals.members)
            },
            proxy.service.in_flight,
            proxy.escalations.active,
            store.engine,
        )
    )
    # Every daemon on one database checks the same CSRF token (several replicas on PostgreSQL).
    csrf_token = shared_secret(store, "csrf")
    runtime.auto_decider = review_decider(proxy.classifier)
    reviewers = ProxyReviewers(proxy.service, settings, proxy.embedded_local)
    runtime.reviewers = reviewers
    runtime.route_hooks = proxy.escalations
    bridge = None
    if settings.bridge.enabled:  # chats drive an agent (bridge:); off unless a platform is on
        from mcp_server.bridge.service import BridgeService

        bridge = BridgeService(settings, store, runtime, proxy)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for line in deprecations:
            log.warning("%s", line)
        for line in startup.summary(settings, proxy.embedded_local, reviewers):
            log.info("%s", line)
        service = await runtime.service()
        for project, why in await asyncio.to_thread(
            active_escalations, service.store, settings.review.escalation_ttl_s
        ):
            proxy.escalations.escalate(project, why)  # still in force after a restart
        await proxy.start()
        budget.start(await proxy.events.ledger(ledger_periods()["today"]))
        if bridge is not None:
            await bridge.start()
        async with mcp_app.lifespan(app):
            yield
        if bridge is not None:
            await bridge.aclose()
        await proxy.aclose()
        interrupted = await runtime.shutdown()
        if interrupted:
            log.warning("recorded %d review round(s) in flight as interrupted", interrupted)

    app = FastAPI(title="brainrouter", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.runtime = runtime
    app.state.peers = peers
    app.state.proxy = proxy
    app.state.bridge = bridge
    server = settings.server
    if not is_loopback(server.host):
        app.add_middleware(RequireToken, token=admin_token)
    hosts = allowed_hosts(server.host, server.public_url)
    app.add_middleware(
        HostOriginGuard,
        hosts=hosts,
        origins=allowed_origins(hosts, server.port, server.public_url),
        body_limit=server.max_api_body_bytes,
        unlimited=("/v1/", "/embedded/"),  # the proxy streams bodies under its own limit
    )
    app.router.routes.extend(proxy_routes(proxy.service, proxy.events))
    app.router.routes.extend(embedded_routes(proxy.model))

    def has_admin_token(request: Request) -> bool:
        return valid(admin_token, presented_token(dict(request.headers)))

    app.include_router(
        review_router(
            runtime.service, csrf_token, has_admin_token, asker=lambda r: peers.uid_of(r.client)
        )
    )
    app.include_router(review_config_router(runtime.service))
    app.include_router(
        dashboard_router(
            settings, runtime, proxy, admin_token, budget, bridge.status if bridge else None
        )
    )

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes the input back, which fails (a 500) on values JSON
        # cannot carry (Infinity); what is wrong and where is what the caller needs.
        problems = [
            {"loc": [str(part) for part in e["loc"]], "msg": str(e["msg"]), "type": e["type"]}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": problems}, status_code=422)

    @app.get("/api/bridge-status")
    async def bridge_status() -> dict[str, Any]:
        """Each chat platform's connection (never its token or endpoint)."""
        if bridge is None:
            return {"agent": None, "platforms": {}}
        return bridge.status()

    @app.get("/metrics")
    async def metrics() -> Response:
        # Prometheus' text format; the review figures are counted in the database.
        body = await asyncio.to_thread(render, registry)
        return Response(body, media_type=METRICS_CONTENT_TYPE)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "service": "brainrouter", "pid": os.getpid()}

    # The dashboard's chart library (uPlot, MIT), shipped with the package: no CDN.
    app.mount("/static", StaticFiles(directory=Path(__file__).with_name("static")), name="static")
    app.mount("/", mcp_app)  # last: it serves /mcp and nothing else
    return app


class RemoteBindRefused(RuntimeError):
    pass


def serve(settings: Settings) -> None:
    if not is_loopback(settings.server.host) and not settings.server.allow_remote:
        raise RemoteBindRefused(
            f"refusing to listen on {settings.server.host}: that exposes the proxy, the reviews and "
            "the ops endpoints to the network. Set server.allow_remote: true to do it anyway; "
            "every request must then carry the admin token (see `brainrouter token`)."
        )
    raise_open_files_limit()
    app = build_app(settings)
    config = uvicorn.Config(
        app,
        http=peer.http_protocol(
            settings.server.allowed_uids or peer.default_uids(), app.state.peers
        ),
        host=settings.server.host,
        port=settings.server.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        lifespan="on",
    )
    tune_gc()
    _Server(config, on_exit=app.state.runtime.begin_shutdown).run()


class _Server(uvicorn.Server):
    """uvicorn's server, telling the review runtime the moment a stop begins: a round still
    waiting for its reviewer answers its caller with a retryable error instead of being cut
    off when the graceful period ends."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_exit()
        super().handle_exit(sig, frame)
