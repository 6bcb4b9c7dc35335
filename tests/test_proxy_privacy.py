"""The privacy guard on the proxy (proxy/privacy.py): secrets bound for the cloud are redacted,
kept local or refused, per proxy.privacy; the routing event says so without the secret."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from proxy.privacy import PrivacyGuard
from review.privacy import redact
from tests.fake_llm import FakeLLM
from tests.proxy_fixtures import anthropic_client, openai_client, proxy_settings, routing_events
from tests.proxy_server import ServerThread

AWS = "AKIAZ7QWERTYUIOPASDF"
GITHUB = "ghp_R4nd0mT0k3nV4lu3F0rT3st1ngPurp0s3sXy"
LEAKY = f"Deploy with {AWS} and push with {GITHUB}, please."


def _server(tmp_path: Path, cloud: FakeLLM, local: FakeLLM, mode: str) -> ServerThread:
    return ServerThread(proxy_settings(tmp_path, cloud, local, privacy=mode)).start()


@pytest.fixture
def redacting(tmp_path: Path, cloud: FakeLLM, local: FakeLLM) -> Iterator[ServerThread]:
    s = _server(tmp_path, cloud, local, "redact")
    yield s
    s.stop()


def _sent(llm: FakeLLM) -> str:
    return str(llm.requests[-1])


def test_secrets_are_redacted_before_the_cloud_sees_them(
    redacting: ServerThread, cloud: FakeLLM
) -> None:
    answer = openai_client(redacting).chat.completions.create(
        model="cloud", messages=[{"role": "user", "content": LEAKY}]
    )
    assert answer.choices[0].message.content == "cloud says hi"
    sent = _sent(cloud)
    assert AWS not in sent and GITHUB not in sent
    assert "[REDACTED:aws-access-key]" in sent and "[REDACTED:github-token]" in sent
    event = routing_events(redacting)[0]
    assert event["privacy"] == "redacted 2 secret(s): 1 aws-access-key, 1 github-token"
    assert AWS not in str(event) and GITHUB not in str(event)


def test_anthropic_tool_results_and_thinking_signatures(
    redacting: ServerThread, cloud: FakeLLM
) -> None:
    messages: list[anthropic.types.MessageParam] = [
        {"role": "user", "content": "read .env"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "look", "signature": "sig-" + "A" * 60},
                {"type": "tool_use", "id": "t1", "name": "read_file", "input": {"path": ".env"}},
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "t1", "content": f"KEY={AWS}"}],
        },
    ]
    anthropic_client(redacting).messages.create(model="cloud", max_tokens=50, messages=messages)
    sent = _sent(cloud)
    assert AWS not in sent


@pytest.mark.parametrize("mode", ["local", "block", "off"])
def test_other_modes(tmp_path: Path, cloud: FakeLLM, local: FakeLLM, mode: str) -> None:
    server = _server(tmp_path, cloud, local, mode)
    try:
        client = openai_client(server)
        if mode == "block":
            with pytest.raises(openai.BadRequestError, match=r"proxy\.privacy is block"):
                client.chat.completions.create(
                    model="cloud", messages=[{"role": "user", "content": LEAKY}]
                )
            assert cloud.requests == [] and local.requests == []
            with pytest.raises(anthropic.BadRequestError):
                anthropic_client(server).messages.create(
                    model="cloud", max_tokens=5, messages=[{"role": "user", "content": LEAKY}]
                )
        else:
            client.chat.completions.create(
                model="cloud", messages=[{"role": "user", "content": LEAKY}]
            )
        event = routing_events(server)[0]
        if mode == "local":
            assert cloud.requests == [] and AWS in _sent(local)  # it never left the machine
            assert event["upstream"] == "local" and "kept local" in event["reason"]
            assert event["privacy"].startswith("kept local: 2 secret(s)")
        if mode == "off":
            assert AWS in _sent(cloud) and event["privacy"] is None
        # A request without secrets passes untouched in every mode.
        clean = {"model": "cloud", "messages": [{"role": "user", "content": "hello there"}]}
        assert httpx.post(f"{server.url}/v1/chat/completions", json=clean).status_code == 200
        assert cloud.requests[-1]["messages"][-1]["content"] == "hello there"
    finally:
        server.stop()


def test_local_routes_are_not_scanned(redacting: ServerThread, local: FakeLLM) -> None:
    openai_client(redacting).chat.completions.create(
        model="local", messages=[{"role": "user", "content": LEAKY}]
    )
    assert AWS in _sent(local)
    assert routing_events(redacting)[0]["privacy"] is None


def test_guard_caches_what_it_has_seen_and_skips_strings_without_triggers() -> None:
    calls: list[str] = []

    def counting(text: str):  # type: ignore[no-untyped-def]
        calls.append(text)
        return redact(text)

    guard = PrivacyGuard(counting)
    body = {"messages": [{"role": "user", "content": LEAKY}, {"role": "user", "content": "hi"}]}
    first = guard.scan(body)
    second = guard.scan(body)
    assert first.counts == second.counts and sum(first.counts.values()) == 2
    assert calls == [LEAKY]  # once, and never for "hi"
    assert body["messages"][0]["content"] == LEAKY  # the caller's body is not changed
    signed = {"type": "thinking", "thinking": "x", "signature": "sk-" + "A" * 40}
    assert guard.scan({"content": [signed]}).body["content"][0] == signed
    deep: dict[str, object] = {}
    node = deep
    for _ in range(5000):
        node["x"] = {}
        node = node["x"]  # type: ignore[assignment]
    with pytest.raises(RecursionError):
        guard.scan(deep)


def test_the_guards_verdict_per_mode() -> None:
    from proxy.privacy import PrivacyGuard, verdict
    from review.privacy import redact

    secret = {"messages": [{"role": "user", "content": "key sk-ant-api03-" + "a" * 90}]}
    clean = {"messages": [{"role": "user", "content": "hello"}]}
    assert verdict(PrivacyGuard(redact, "redact"), clean, True).action == "none"
    redacted = verdict(PrivacyGuard(redact, "redact"), secret, True)
    assert redacted.action == "redact" and "sk-ant-api03" not in str(redacted.body)
    assert "sk-ant-api03" in str(secret)  # the client's body is left as it was
    assert verdict(PrivacyGuard(redact, "local"), secret, True).action == "local"
    refused = verdict(PrivacyGuard(redact, "local"), secret, local_configured=False)
    assert refused.action == "block" and "proxy.privacy is block" in refused.refusal
    assert "sk-ant" not in refused.note + refused.refusal
