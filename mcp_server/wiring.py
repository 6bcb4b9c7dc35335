"""Assembly: settings in, a ready review service out. The one place that knows every part."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from mcp_server.config import Settings

if TYPE_CHECKING:
    import httpx

    from proxy.routing import Classifier
    from review.escalation import RouteHooks
    from review.loop import AutoDecider, ReviewService
    from review.prompt import BuiltPrompt
    from review.reviewer import Reviewers
    from review.store import Store


class ReviewRuntime:
    """Owns the store and the shared HTTP client; builds the service on first use so that a
    stdio MCP server answers `initialize` before any database or network work."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._service: ReviewService | None = None
        self._http: httpx.AsyncClient | None = None
        self._store: Store | None = None
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        # Set by the daemon: review's `auto` mode asks the proxy's classifier (R7), and the
        # reviewers ask through the proxy's upstreams. Unset: reviewers call review.* directly.
        self.auto_decider: AutoDecider | None = None
        self.reviewers: Reviewers | None = None
        # Set by the daemon: the proxy's side of review-driven escalation.
        self.route_hooks: RouteHooks | None = None

    async def service(self) -> ReviewService:
        self._loop = asyncio.get_running_loop()
        if self._service is None:
            async with self._lock:
                if self._service is None:
                    self._service = await asyncio.to_thread(self._build)
        return self._service

    def open_store(self) -> Store:
        """The database (opened and migrated on first call)."""
        if self._store is None:
            from review.store import Store

            self._store = Store(self.settings.database_url)
        return self._store

    def _build(self) -> ReviewService:
        # Heavy imports (SQLAlchemy, GitPython, httpx) happen here, off the startup path.
        import httpx

        from review.loop import ReviewService
        from review.reviewer import DirectReviewers

        store = self.open_store()
        timeout = httpx.Timeout(self.settings.review.round_timeout_s, connect=10.0)
        self._http = httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=20))
        review = self.settings.review
        service = ReviewService(
            store,
            review,
            self.reviewers or DirectReviewers(review, self._http),
            public_url=self.settings.server.url,
            auto_decider=self.auto_decider,
            route_hooks=self.route_hooks,
        )
        service.recover_stranded()
        return service

    def begin_shutdown(self) -> None:
        """Called from the signal handler: rounds in flight answer their callers now."""
        if self._service is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._service.begin_shutdown)

    async def shutdown(self) -> int:
        """Record rounds in flight as interrupted, then close; returns how many there were."""
        interrupted = 0
        if self._service is not None:
            interrupted = await asyncio.to_thread(self._service.interrupt_inflight)
        await self.aclose()
        return interrupted

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        if self._store is not None:
            self._store.close()


class ProxyRuntime:
    """The proxy side-car: one pooled HTTP client, the event recorder, the shared model server,
    the classifier and the proxy service. Its tables live in the review store's database,
    migrated here (the daemon wires both)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        observer: Callable[[dict[str, Any]], None] | None = None,
        over_budget: Callable[[], str | None] = lambda: None,
    ) -> None:
        import httpx
        from httpx_aiohttp import AiohttpTransport

        from proxy.classifier import build_classifier
        from proxy.classifier.judge import model_judge
        from proxy.embedded import MODEL_NAME, PREFIX
        from proxy.escalations import Escalations
        from proxy.events import MIGRATIONS, MIGRATIONS_TABLE, EventRecorder
        from proxy.model_server import ModelServer
        from proxy.pipeline import ProxyService
        from proxy.privacy import PrivacyGuard
        from review.migrations import migrate
        from review.privacy import redact

        with store.engine.begin() as conn:
            migrate(conn, MIGRATIONS, table=MIGRATIONS_TABLE)
        proxy = settings.proxy
        self.model = ModelServer(proxy.model)
        self.embedded_local = proxy.local.base_url is None and proxy.model.enabled
        if self.embedded_local:
            # No local LLM server configured: the in-process model serves model=local.
            local = proxy.local.model_copy(
                update={
                    "base_url": f"{settings.server.loopback_url}{PREFIX}",
                    "protocol": "openai",
                    "model": proxy.local.model or MODEL_NAME,
                    "fallback_model": proxy.local.fallback_model or MODEL_NAME,
                }
            )
            proxy = proxy.model_copy(update={"local": local})
            if "background" not in proxy.scenarios.model_fields_set:
                # Background requests (titles, summaries) go local by default, but not to the
                # embedded 270M model: its titles would be nonsense. Say so to have it anyway.
                quiet = proxy.scenarios.model_copy(update={"background": None})
                proxy = proxy.model_copy(update={"scenarios": quiet})
        timeouts = proxy.timeouts
        # Two upstreams share the pool; each is admitted up to proxy.max_connections (lease.py).
        connections = proxy.max_connections * 2
        limits = httpx.Limits(
            max_connections=connections, max_keepalive_connections=min(connections, 256)
        )
        # httpcore's pool scans every pooled connection (a select() each) for every request,
        # which caps a busy proxy at a few hundred requests/s; aiohttp's pool does not.
        self.http = httpx.AsyncClient(
            transport=AiohttpTransport(limits=limits, trust_env=False),
            timeout=httpx.Timeout(timeouts.total_s, connect=timeouts.connect_s),
            limits=limits,
        )
        # Whatever will use the model (the embedded local upstream, the judge) would otherwise
        # pay for its load on the first request: it loads in the background at start.
        self.preload_model = proxy.model.enabled and (self.embedded_local or proxy.classifier.judge)
        self.events = EventRecorder(store.engine, proxy.events_max)
        self._probes: list[asyncio.Task[None]] = []
        self.classifier = build_classifier(proxy, model_judge(self.model, proxy.classifier.prompt))
        # The review loop's detector: both halves of the product find the same secrets.
        guard = PrivacyGuard(redact, proxy.privacy)
        # Tasks the review loop moved to the cloud (review-driven escalation).
        self.escalations = Escalations(settings.review.escalation_ttl_s)
        self.service = ProxyService(
            proxy,
            self.http,
            self.events,
            self.classifier,
            model=self.model,
            privacy=guard,
            escalations=self.escalations,
            observer=observer,
            over_budget=over_budget,
        )

    async def start(self) -> None:
        await self.events.start()
        if self.preload_model:
            self.model.start_loading()
        settings = self.service.settings
        for pool, interval in (
            (self.service.locals, settings.local.probe_s),
            (self.service.clouds, settings.cloud.probe_s),
        ):
            if len(pool.members) > 1:  # several servers on a route: each is health-checked
                self._probes.append(asyncio.create_task(pool.probe_forever(interval)))

    async def aclose(self) -> None:
        for probe in self._probes:
            probe.cancel()
        await self.events.stop()
        await self.http.aclose()
        self.model.close()


def review_decider(classifier: Classifier) -> AutoDecider:
    """Review's auto mode: a large diff goes to the cloud; otherwise the proxy's classifier
    decides on what the agent says it did (the rest of the prompt is the same every time)."""
    from proxy.routing import Features
    from review.loop import LARGE_DIFF_TOKENS

    async def decide(built: BuiltPrompt) -> Literal["local", "cloud"]:
        if built.fitted.tokens > LARGE_DIFF_TOKENS:
            return "cloud"
        features = Features(latest_user_text=built.task)
        return (await classifier.classify(features)).route

    return decide
