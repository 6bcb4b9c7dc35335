"""Malformed request types get a 400 in the client's own shape naming the field, before any
upstream is called (the cases found by hand and by the generated suite)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fake_llm import FakeLLM
from tests.proxy_server import ServerThread

CASES: list[tuple[str, dict[str, Any], str]] = [
    ("/v1/chat/completions", {"messages": [None]}, "messages[0] must be an object"),
    ("/v1/chat/completions", {"messages": [5]}, "messages[0] must be an object"),
    ("/v1/chat/completions", {"messages": ["hi"]}, "messages[0] must be an object"),
    ("/v1/chat/completions", {"messages": [{"role": []}]}, "messages[0].role must be one of"),
    (
        "/v1/chat/completions",
        {"messages": [{"role": "user", "content": "x"}], "tools": 5},
        "tools must be an array",
    ),
    (
        "/v1/chat/completions",
        {"messages": [{"role": "user", "content": [{"type": "text", "text": 3}]}]},
        "messages[0].content[0].text must be a string",
    ),
    (
        "/v1/messages",
        {
            "max_tokens": 5,
            "messages": [{"role": "user", "content": [{"type": "image", "source": "x.png"}]}],
        },
        "messages[0].content[0].source must be an object",
    ),
    (
        "/v1/messages",
        {"max_tokens": "many", "messages": [{"role": "user", "content": "x"}]},
        "max_tokens must be a whole number",
    ),
    (
        "/v1/responses",
        {"input": [{"role": "user", "content": 5}]},
        "input[0].content must be a string or an array of parts",
    ),
    ("/v1/responses", {"input": [7]}, "input[0] must be an object"),
    (
        "/v1/responses",
        {"input": [{"type": "function_call", "name": 1, "arguments": "{}"}]},
        "input[0].name must be a string",
    ),
]


@pytest.mark.parametrize(("path", "body", "message"), CASES)
def test_malformed_types_are_400s_in_the_clients_shape(
    server: ServerThread, cloud: FakeLLM, path: str, body: dict[str, Any], message: str
) -> None:
    response = httpx.post(f"{server.url}{path}", json={"model": "cloud", **body})
    assert response.status_code == 400, response.text
    error = response.json()
    if path == "/v1/messages":
        assert error["type"] == "error"
    assert message in error["error"]["message"]
    assert cloud.requests == []
