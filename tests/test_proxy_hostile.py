"""Generated request bodies (hypothesis) on every proxy route: never a 5xx, always the client's
own error shape, and the daemon keeps serving."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fake_llm import FakeLLM
from tests.proxy_fixtures import proxy_settings
from tests.proxy_server import ServerThread

_EXAMPLES = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_scalar = (
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
_json = st.recursive(
    _scalar,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_role = (
    st.sampled_from(["user", "assistant", "system", "tool", "developer", "function", "x"]) | _json
)
_part = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            [
                "text",
                "image",
                "image_url",
                "tool_use",
                "tool_result",
                "input_text",
                "thinking",
                "function_call",
                "x",
            ]
        )
        | _json
    },
    optional={
        "text": _json,
        "source": _json,
        "image_url": _json,
        "id": _json,
        "name": _json,
        "input": _json,
        "content": _json,
        "tool_use_id": _json,
        "call_id": _json,
        "arguments": _json,
        "output": _json,
    },
)
_message = st.fixed_dictionaries(
    {"role": _role},
    optional={
        "content": _json | st.lists(_part | _json, max_size=3),
        "tool_calls": _json
        | st.lists(
            st.fixed_dictionaries({"id": _json, "type": _json, "function": _json}), max_size=2
        ),
        "tool_call_id": _json,
        "name": _json,
        "type": _json,
    },
)
_common = {
    "stream": st.booleans() | _json,
    "tools": _json | st.lists(_json, max_size=2),
    "max_tokens": _json,
    "temperature": _json,
    "tool_choice": _json,
    "stream_options": _json,
}
_chat = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["cloud", "local"]),
        "messages": st.lists(_message | _json, max_size=3) | _json,
    },
    optional=_common,
)
_anthropic = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["cloud", "local"]),
        "messages": st.lists(_message | _json, max_size=3) | _json,
    },
    optional={**_common, "system": _json | st.lists(_part, max_size=2), "thinking": _json},
)
_responses = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["cloud", "local"]),
        "input": _json | st.lists(_message | _part | _json, max_size=3),
    },
    optional={**_common, "instructions": _json, "reasoning": _json, "text": _json},
)


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    cloud, local = FakeLLM().start(), FakeLLM().start()
    server = ServerThread(proxy_settings(tmp_path_factory.mktemp("fuzz"), cloud, local)).start()
    yield server
    server.stop()
    cloud.stop()
    local.stop()


def _check(server: ServerThread, path: str, body: Any, anthropic_shape: bool) -> None:
    response = httpx.post(
        f"{server.url}{path}",
        content=json.dumps(body),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code < 500, (path, body, response.text[:400])
    if response.status_code >= 400:
        error = response.json()
        if anthropic_shape:
            assert error["type"] == "error" and isinstance(error["error"]["message"], str)
        else:
            assert isinstance(error["error"]["message"], str)


@_EXAMPLES
@given(body=_chat)
def test_chat_completions(proxy: ServerThread, body: dict[str, Any]) -> None:
    _check(proxy, "/v1/chat/completions", body, anthropic_shape=False)


@_EXAMPLES
@given(body=_anthropic)
def test_messages(proxy: ServerThread, body: dict[str, Any]) -> None:
    _check(proxy, "/v1/messages", body, anthropic_shape=True)


@_EXAMPLES
@given(body=_responses)
def test_responses(proxy: ServerThread, body: dict[str, Any]) -> None:
    _check(proxy, "/v1/responses", body, anthropic_shape=False)


@pytest.mark.parametrize("depth", [255, 600, 1024, 5000])
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/v1/responses"])
def test_deeply_nested_json(proxy: ServerThread, path: str, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    key = "input" if path.endswith("responses") else "messages"
    body = f'{{"model": "cloud", "{key}": [{{"role": "user", "content": "x", "extra": {nested}}}]}}'
    response = httpx.post(
        f"{proxy.url}{path}", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code < 500, response.text[:300]
