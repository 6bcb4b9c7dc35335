"""The embedded local upstream: OpenAI chat completions served by the in-process model, for
machines with no local LLM server. The proxy reaches it over loopback like any upstream
(at /embedded/v1), so routing, fallback and streaming work the same for it."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from proxy.disconnect import unless_client_leaves
from proxy.model_server import ModelServer, ModelUnavailable
from proxy.sse import DONE, encode

PREFIX = "/embedded/v1"
MODEL_NAME = "embedded"
_PARAMS = ("max_tokens", "temperature", "top_p", "stop", "seed")


def _error(status: int, message: str) -> Response:
    body = {
        "error": {
            "message": message,
            "type": "server_error" if status >= 500 else "invalid_request_error",
        }
    }
    return JSONResponse(body, status_code=status)


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Plain text turns only: the small embedded model has no tool calling."""
    out = []
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, list):
            content = "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        role = message.get("role")
        if role == "tool":
            role, content = "user", f"[tool result]\n{content}"
        elif role == "developer":
            role = "system"
        if content:
            out.append({"role": role, "content": str(content)})
    return out


def embedded_routes(model: ModelServer) -> list[BaseRoute]:
    async def chat(request: Request) -> Response:
        try:
            body = orjson.loads(await request.body())
            if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
                raise ValueError("messages must be an array")
        except ValueError as exc:
            return _error(400, f"bad request: {exc}")
        params = {k: body[k] for k in _PARAMS if body.get(k) is not None}
        messages = _messages(body)
        try:
            await model.ensure_loaded()
        except ModelUnavailable as exc:
            return _error(503, str(exc))
        if not body.get("stream"):

            async def whole() -> Response:
                result = await model.complete(messages, **params)
                result["model"] = MODEL_NAME
                return Response(orjson.dumps(result), media_type="application/json")

            # A caller that leaves (the proxy, when its own client left) stops the generation.
            return await unless_client_leaves(request, whole())

        async def events() -> Any:
            async for chunk in model.stream(messages, **params):
                chunk["model"] = MODEL_NAME
                yield encode(chunk)
            yield DONE

        return StreamingResponse(events(), media_type="text/event-stream")

    async def models(request: Request) -> Response:
        return JSONResponse(
            {
                "object": "list",
                "data": [{"id": MODEL_NAME, "object": "model", "owned_by": "brainrouter"}],
            }
        )

    return [
        Route(f"{PREFIX}/chat/completions", chat, methods=["POST"]),
        Route(f"{PREFIX}/models", models, methods=["GET"]),
    ]
