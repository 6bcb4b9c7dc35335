"""Token usage through the proxy: what clients are told (usage chunks only when asked, cache
reads and writes both ways) and what routing events count."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.fake_llm import FakeLLM, Reply
from tests.proxy_fixtures import anthropic_client, openai_client, routing_events
from tests.proxy_server import ServerThread

# An Anthropic upstream's usage with prompt caching: 10 new input tokens, 900 read from the
# cache, 90 written to it; 1,000 in all.
CACHED_USAGE = {
    "input_tokens": 10,
    "cache_read_input_tokens": 900,
    "cache_creation_input_tokens": 90,
}
MESSAGES: Any = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("include_usage", [False, True])
def test_chat_streams_carry_usage_only_when_asked(
    anthropic_cloud: ServerThread, include_usage: bool
) -> None:
    body: dict[str, Any] = {"model": "cloud", "stream": True, "messages": MESSAGES}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    with httpx.stream("POST", f"{anthropic_cloud.url}/v1/chat/completions", json=body) as response:
        chunks = [
            json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: {")
        ]
    with_usage = [c for c in chunks if c.get("usage")]
    if include_usage:
        assert with_usage and with_usage[-1]["choices"] == []
    else:
        assert with_usage == []
    assert any(c["choices"] and c["choices"][0].get("finish_reason") for c in chunks)


@pytest.mark.parametrize("stream", [False, True])
def test_cache_reads_and_writes_survive_translation(
    anthropic_cloud: ServerThread, cloud: FakeLLM, stream: bool
) -> None:
    cloud.script(Reply("hi", usage=CACHED_USAGE))
    client = openai_client(anthropic_cloud)
    if stream:
        chunks = list(
            client.chat.completions.create(
                model="cloud",
                messages=MESSAGES,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        got: Any = [c.usage for c in chunks if c.usage][-1]
    else:
        got = client.chat.completions.create(model="cloud", messages=MESSAGES).usage
    assert got is not None
    assert got.prompt_tokens == 1000  # input + cache reads + cache writes
    assert got.prompt_tokens_details is not None
    assert got.prompt_tokens_details.cached_tokens == 900
    # The routing event counts the same input.
    assert routing_events(anthropic_cloud)[0]["input_tokens"] == 1000


def test_chat_cached_tokens_reach_an_anthropic_client(server: ServerThread, local: FakeLLM) -> None:
    local.script(
        Reply("hi", usage={"prompt_tokens": 500, "prompt_tokens_details": {"cached_tokens": 400}})
    )
    message = anthropic_client(server).messages.create(
        model="local", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.usage.input_tokens == 100
    assert message.usage.cache_read_input_tokens == 400


@pytest.mark.parametrize("stream", [False, True])
def test_passthrough_events_count_cache_reads_and_writes_as_input(
    anthropic_cloud: ServerThread, cloud: FakeLLM, stream: bool
) -> None:
    cloud.script(Reply("hi", usage=CACHED_USAGE))
    client = anthropic_client(anthropic_cloud)
    if stream:
        with client.messages.stream(model="cloud", max_tokens=5, messages=MESSAGES) as st:
            st.get_final_message()
    else:
        client.messages.create(model="cloud", max_tokens=5, messages=MESSAGES)
    assert routing_events(anthropic_cloud)[0]["input_tokens"] == 1000
