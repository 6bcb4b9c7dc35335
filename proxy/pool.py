"""A route's servers (K-9's load balancing): its `base_url` and each of its `instances`
(several local servers; several cloud keys or gateways), every one an Upstream with its own
breaker. A request is offered to
the able servers (configured, breaker not open) that serve its model, the one with the fewest
requests in flight first, the others next as fallbacks. A model some servers list in their
`models` goes only to those; any other model, to the servers that list none. A health probe (GET /models every
`probe_s`) opens a dead server's breaker before a request meets it, and closes it again once
the server answers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Literal

import httpx

from proxy.settings import LocalUpstreamSettings, ProxySettings, UpstreamSettings
from proxy.upstream import Upstream

log = logging.getLogger("brainrouter.proxy")


class UpstreamPool:
    def __init__(self, members: list[Upstream], in_flight: Mapping[str, int]) -> None:
        self.members = members
        self._in_flight = in_flight
        self.settings = members[0].settings

    @classmethod
    def of(
        cls,
        route: Literal["cloud", "local"],
        proxy: ProxySettings,
        client: httpx.AsyncClient,
        in_flight: dict[str, int],
    ) -> UpstreamPool:
        """The pool of `proxy.<route>`; adds each server's requests-in-flight count."""
        own: UpstreamSettings = getattr(proxy, route)
        members = [Upstream.of(route, own, client, proxy)]
        for number, instance in enumerate(own.instances, start=2):  # type: ignore[attr-defined]
            given = instance.model_dump(exclude={"models"}, exclude_none=True)
            settings = own.model_copy(update={**given, "instances": []})
            server = Upstream.of(route, settings, client, proxy, label=f"{route}#{number}")
            server.serving = frozenset(instance.models)
            members.append(server)
        in_flight.update({u.label: 0 for u in members})
        return cls(members, in_flight)

    @property
    def primary(self) -> Upstream:
        return self.members[0]

    def order(self, model: str) -> list[Upstream]:
        """The servers to try for `model`, best first; never empty (with none able, the first
        that serves it, whose breaker then refuses with a clear reason)."""
        # A model some servers list goes only to those; any other, to servers that list none.
        claimed = [u for u in self.members if model in u.serving]
        serving = claimed or [u for u in self.members if not u.serving] or self.members[:1]
        able = [u for u in serving if u.able] or serving[:1]
        return sorted(able, key=lambda u: (self._in_flight[u.label], self.members.index(u)))

    async def probe_once(self) -> None:
        for upstream, (ok, why) in zip(
            self.members,
            await asyncio.gather(*(u.healthy() for u in self.members)),
            strict=True,
        ):
            breaker = upstream.breaker
            if ok and breaker.state != "closed":
                breaker.record_success()
                log.info("%s answers its health probe again", upstream.label)
            elif not ok and breaker.state != "open":
                breaker.record_failure(why)
                if breaker.state == "open":
                    log.warning("%s", why)

    async def probe_forever(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.probe_once()
            except Exception:  # a probe must never end the loop
                log.exception("health probe of %s servers failed", self.primary.name)


def attempts(
    route: str, model: str, clouds: UpstreamPool, locals_: UpstreamPool
) -> list[tuple[Upstream, str]]:
    """The upstreams to try in turn, with the model to ask each: the route's (each server
    serving the model, the least busy first); after the cloud ones, the local servers (their
    fallback); after every local server, the cloud when proxy.local.failover_to_cloud says so
    (it spends money)."""
    local = locals_.settings
    assert isinstance(local, LocalUpstreamSettings)
    if route == "cloud":
        plan = [(u, model) for u in clouds.order(model)]
        fallback = local.fallback_model or local.model
        if locals_.primary.configured and fallback:
            plan += [(u, fallback) for u in locals_.order(fallback)]
        return plan
    plan = [(u, model) for u in locals_.order(model)]
    cloud_model = clouds.settings.model
    if local.failover_to_cloud and clouds.primary.configured and cloud_model:
        plan += [(u, cloud_model) for u in clouds.order(cloud_model)]
    return plan
