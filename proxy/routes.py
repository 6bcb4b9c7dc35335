"""The proxy's HTTP surface: /v1 endpoints for harnesses and /api endpoints for the dashboard.

Plain Starlette routes (no FastAPI validation layer) keep the hot path lean; each endpoint
validates what it needs and answers errors in the client's own protocol's shape.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from proxy import validate
from proxy.disconnect import unless_client_leaves
from proxy.errors import error_response
from proxy.events import EventRecorder
from proxy.formats import FORMATS
from proxy.pipeline import ProxyService
from proxy.routing import MODES
from proxy.settings import Protocol
from proxy.translate import anthropic

MAX_MODEL_NAME = 256


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _read_json(request: Request, limit: int) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _BadRequest(413, f"request body is {declared} bytes; the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _BadRequest(413, f"request body exceeds the limit of {limit} bytes")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _BadRequest(400, f"request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _BadRequest(400, "request body must be a JSON object")
    return data


def _check_model(body: dict[str, Any]) -> None:
    model = body["model"]
    if not isinstance(model, str) or not model.strip():
        raise _BadRequest(
            400, "model must be a non-empty string (auto, local, cloud or a model name)"
        )
    # The name goes back in a response header (x-brainrouter-model) and into logs: a control
    # character would break the response after the upstream was already called (and billed).
    if len(model) > MAX_MODEL_NAME or not model.isprintable():
        raise _BadRequest(
            400,
            f"model must be at most {MAX_MODEL_NAME} printable characters, no control characters",
        )
    if "stream" in body and not isinstance(body["stream"], bool):
        raise _BadRequest(400, "stream must be true or false")


def proxy_routes(service: ProxyService, events: EventRecorder | None) -> list[BaseRoute]:
    limit = service.settings.max_body_bytes

    def endpoint(protocol: Protocol) -> Any:
        async def handler(request: Request) -> Response:
            try:
                body = await _read_json(request, limit)
                FORMATS[protocol].check(body)
                _check_model(body)
            except _BadRequest as exc:
                return error_response(protocol, exc.status, str(exc))
            except validate.Malformed as exc:
                return error_response(protocol, 400, str(exc))
            return await unless_client_leaves(
                request, service.handle(protocol, body, dict(request.headers))
            )

        return handler

    async def count_tokens(request: Request) -> Response:
        try:
            body = await _read_json(request, limit)
        except _BadRequest as exc:
            return error_response("anthropic", exc.status, str(exc))
        return JSONResponse({"input_tokens": anthropic.count_tokens(body)})

    async def models(request: Request) -> Response:
        names = [*MODES, *service.settings.cloud.models, *await service.local_models()]
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": "brainrouter"}
            for name in dict.fromkeys(names)
        ]
        return JSONResponse({"object": "list", "data": data})

    async def head_root(request: Request) -> Response:
        return Response(status_code=200)

    async def routing_events(request: Request) -> Response:
        limit_param = request.query_params.get("limit", "50")
        if not limit_param.isdigit() or not 1 <= int(limit_param) <= 1000:
            return JSONResponse({"error": "limit must be a number from 1 to 1000"}, status_code=422)
        rows = await events.recent(int(limit_param)) if events else []
        return Response(orjson.dumps({"events": rows}), media_type="application/json")

    async def routing_stats(request: Request) -> Response:
        return JSONResponse(await events.stats() if events else {})

    async def service_health(request: Request) -> Response:
        return JSONResponse(service.health())

    async def inference_status(request: Request) -> Response:
        return JSONResponse(
            {
                "in_flight": dict(service.in_flight),
                "busy": any(service.in_flight.values()),
                "model": service.model.describe() if service.model else None,
            }
        )

    async def local_models(request: Request) -> Response:
        return JSONResponse(
            {"models": await service.local_models(), "configured": service.local.configured}
        )

    return [
        Route("/v1/chat/completions", endpoint("openai"), methods=["POST"]),
        Route("/v1/messages", endpoint("anthropic"), methods=["POST"]),
        Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
        Route("/v1/responses", endpoint("responses"), methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/", head_root, methods=["HEAD"]),
        Route("/api/routing-events", routing_events, methods=["GET"]),
        Route("/api/routing-stats", routing_stats, methods=["GET"]),
        Route("/api/service-health", service_health, methods=["GET"]),
        Route("/api/inference-status", inference_status, methods=["GET"]),
        Route("/api/models/llama-swap", local_models, methods=["GET"]),
    ]
