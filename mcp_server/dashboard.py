"""The dashboard at `/`: the newest request's path, recent traffic, totals, service health,
the review mode, and the few ops actions the config allows (admin token required)."""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from mcp_server.admin import presented_token, valid
from mcp_server.config import Settings
from mcp_server.costs import DailyBudget, priced
from mcp_server.feed import table
from mcp_server.timeseries import WINDOWS, buckets
from mcp_server.versions import Versions
from mcp_server.wiring import ProxyRuntime, ReviewRuntime
from proxy.ledger import by_period as ledger_by_period

_TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
_OUTPUT_TAIL = 4000


def _cost(tokens_in: int, tokens_out: int, price: Any) -> float | None:
    if price is None:
        return None
    return (tokens_in * price.input_per_mtok + tokens_out * price.output_per_mtok) / 1_000_000


def totals(stats: dict[str, Any], settings: Settings) -> dict[str, Any]:
    by_upstream = stats.get("by_upstream", {})
    local = by_upstream.get("local", {})
    cloud = by_upstream.get("cloud", {})
    cloud_model = settings.proxy.cloud.model
    price = settings.dashboard.prices.get(cloud_model or "")
    return {
        "requests": stats.get("total", 0),
        "by_route": {name: int(v.get("requests") or 0) for name, v in by_upstream.items()},
        "fallbacks": stats.get("fallbacks", 0),
        "by_scenario": stats.get("by_scenario", {}),
        "local_share": stats.get("local_share", 0.0),
        "tokens": {
            name: {
                "input": int(v.get("input_tokens") or 0),
                "output": int(v.get("output_tokens") or 0),
            }
            for name, v in by_upstream.items()
        },
        "cloud_cost": _cost(
            int(cloud.get("input_tokens") or 0), int(cloud.get("output_tokens") or 0), price
        ),
        "cloud_cost_avoided": _cost(
            int(local.get("input_tokens") or 0), int(local.get("output_tokens") or 0), price
        ),
        "priced_model": cloud_model if price else None,
    }


async def _upstream_version(base_url: str | None) -> str | None:
    """llama-swap, Ollama and vLLM report a version at one of these paths; gateways may not."""
    if not base_url:
        return None
    root = base_url.removesuffix("/v1")
    async with httpx.AsyncClient(timeout=1.0) as client:
        for path in ("/version", "/api/version"):
            try:
                response = await client.get(root + path)
                if response.status_code == 200:
                    data = response.json()
                    if isinstance(data, dict) and data.get("version"):
                        return str(data["version"])
            except (httpx.HTTPError, ValueError):
                continue
    return None


async def _run_command(command: str, timeout_s: float) -> dict[str, Any]:
    # No shell: the configured command line is split and run as is.
    process = await asyncio.create_subprocess_exec(
        *shlex.split(command), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        return {"exit_code": None, "output": f"timed out after {timeout_s:g}s"}
    return {
        "exit_code": process.returncode,
        "output": output.decode(errors="replace")[-_OUTPUT_TAIL:],
    }


def dashboard_router(
    settings: Settings,
    review: ReviewRuntime,
    proxy: ProxyRuntime,
    token: str,
    budget: DailyBudget | None = None,
    bridge_status: Callable[[], dict[str, Any]] | None = None,
) -> APIRouter:
    router = APIRouter()
    running = Versions()  # made at daemon start: what this process runs

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page(request: Request) -> HTMLResponse:
        return _TEMPLATES.TemplateResponse(
            request,
            "dashboard.html",
            {
                "refresh_ms": int(settings.dashboard.refresh_s * 1000),
                "restart": sorted(settings.ops.restart),
                "upgrade": sorted(settings.ops.upgrade),
            },
        )

    @router.get("/api/dashboard")
    async def data() -> dict[str, Any]:
        service = await review.service()
        events, stats, sessions, mode, models = await asyncio.gather(
            proxy.events.recent(200),
            proxy.events.stats(),
            service.list_sessions(limit=50),
            asyncio.to_thread(service.config.get),
            proxy.service.local_models(),
        )
        spent = ledger_by_period(await proxy.events.ledger())
        return {
            "latest": events[0] if events else None,
            "rows": table(events, [s.model_dump(mode="json") for s in sessions.sessions]),
            "totals": totals(stats, settings),
            # from the ledger: survives restarts and the pruning of routing events
            "ledger": {
                name: priced(rows, settings.dashboard.prices, settings.proxy.cloud.model)
                for name, rows in spent.items()
            },
            "budget": budget.describe() if budget is not None else None,
            "health": proxy.service.health(),
            "review_config": {"mode": mode[0], "local_model": mode[1]},
            "local_models": models,
            "bridge": bridge_status() if bridge_status is not None else None,
        }

    @router.get("/api/timeseries")
    async def timeseries(window: str = "hour") -> dict[str, Any]:
        if window not in WINDOWS:
            raise HTTPException(422, f"window must be one of {', '.join(WINDOWS)}")
        span, _step = WINDOWS[window]
        events = await proxy.events.since(datetime.now(UTC) - span)
        return buckets(events, window, settings.dashboard.prices)

    @router.get("/api/versions")
    async def versions() -> dict[str, Any]:
        servers = [*proxy.service.clouds.members, *proxy.service.locals.members]
        reported = await asyncio.gather(*(_upstream_version(u.settings.base_url) for u in servers))
        return {
            "brainrouter": running.running["brainrouter"],
            "components": running.report(),
            "upstreams": {u.label: v for u, v in zip(servers, reported, strict=True)},
        }

    def _require_token(request: Request) -> None:
        if not valid(token, presented_token(dict(request.headers))):
            raise HTTPException(401, "admin token required: see `brainrouter token`")

    async def _ops(
        kind: str, commands: dict[str, str], name: str, request: Request
    ) -> dict[str, Any]:
        _require_token(request)
        if name not in commands:
            known = ", ".join(sorted(commands)) or "none"
            raise HTTPException(
                404, f"no {kind} command named {name!r} in config (ops.{kind}: {known})"
            )
        result = await _run_command(commands[name], settings.ops.timeout_s)
        return {kind: name, **result}

    @router.post("/api/restart/{service}")
    async def restart(service: str, request: Request) -> dict[str, Any]:
        return await _ops("restart", settings.ops.restart, service, request)

    @router.post("/api/upgrade/{component}")
    async def upgrade(component: str, request: Request) -> dict[str, Any]:
        return await _ops("upgrade", settings.ops.upgrade, component, request)

    return router
