"""Fallback, circuit breaking, mid-stream failures, keep-alives and client disconnects."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.conftest import free_port
from tests.fake_llm import FakeLLM, Reply
from tests.proxy_fixtures import anthropic_client, openai_client, proxy_settings, routing_events
from tests.proxy_server import ServerThread


# ------------------------------------------------------------------ failures
def _both_sdks_see_an_error(
    server: ServerThread, cloud: FakeLLM, for_openai: Reply, for_anthropic: Reply
) -> None:
    """A stream cut by the upstream ends in an error in the OpenAI and the Anthropic SDK."""
    cloud.script(for_openai)
    with pytest.raises(openai.APIError):
        list(
            openai_client(server).chat.completions.create(
                model="cloud", stream=True, messages=[{"role": "user", "content": "hi"}]
            )
        )
    cloud.script(for_anthropic)
    with (
        pytest.raises(anthropic.APIStatusError),
        anthropic_client(server).messages.stream(
            model="cloud", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        ) as stream,
    ):
        stream.get_final_message()


@pytest.mark.parametrize(
    "reply",
    [Reply(status=500), Reply(status=429), Reply(hang=True)],
    ids=["http-500", "http-429", "no-first-byte"],
)
@pytest.mark.parametrize("stream", [False, True])
def test_cloud_failures_fall_back_to_local(
    server: ServerThread, cloud: FakeLLM, local: FakeLLM, reply: Reply, stream: bool
) -> None:
    cloud.script(reply)
    client = openai_client(server)
    if stream:
        chunks = list(
            client.chat.completions.create(
                model="cloud", stream=True, messages=[{"role": "user", "content": "hi"}]
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).strip()
    else:
        text = (
            client.chat.completions.create(
                model="cloud", messages=[{"role": "user", "content": "hi"}]
            )
            .choices[0]
            .message.content
            or ""
        )
    assert text.strip() == "local says hi"
    assert local.requests[-1]["model"] == "fallback-local-model"
    event = routing_events(server)[0]
    assert event["fallback"] is True and event["upstream"] == "local" and event["status"] == "ok"
    assert event["fallback_reason"]


def test_refused_connection_falls_back(tmp_path: Path, local: FakeLLM) -> None:
    settings = proxy_settings(
        tmp_path, None, local, cloud={"base_url": f"http://127.0.0.1:{free_port()}/v1"}
    )
    s = ServerThread(settings).start()
    try:
        answer = openai_client(s).chat.completions.create(
            model="cloud", messages=[{"role": "user", "content": "hi"}]
        )
        assert answer.choices[0].message.content == "local says hi"
        assert "cannot connect" in routing_events(s)[0]["fallback_reason"]
    finally:
        s.stop()


def test_client_errors_are_not_retried_elsewhere(
    server: ServerThread, cloud: FakeLLM, local: FakeLLM
) -> None:
    cloud.script(Reply(status=400, raw_body=json.dumps({"error": {"message": "bad tool schema"}})))
    with pytest.raises(openai.BadRequestError, match="bad tool schema"):
        openai_client(server).chat.completions.create(
            model="cloud", messages=[{"role": "user", "content": "hi"}]
        )
    assert local.requests == []


@pytest.mark.parametrize(
    "failure",
    [Reply("a b c d", stall_after=2), Reply("a b c d", malformed_after=2)],
    ids=["stall", "malformed"],
)
def test_mid_stream_failure_ends_with_an_error_event(
    server: ServerThread, cloud: FakeLLM, failure: Reply
) -> None:
    _both_sdks_see_an_error(server, cloud, failure, Reply("a b c d", stall_after=2))
    events = routing_events(server)
    assert events[0]["status"] == "upstream_error"


def test_keepalive_comments_during_silence(tmp_path: Path, cloud: FakeLLM, local: FakeLLM) -> None:
    settings = proxy_settings(tmp_path, cloud, local)
    settings.proxy.timeouts.stall_s = 5
    settings.proxy.timeouts.keepalive_s = 0.1
    s = ServerThread(settings).start()
    try:
        cloud.script(Reply("slow words here", chunk_delay_s=0.35))
        body = {"model": "cloud", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        with httpx.stream(
            "POST", f"{s.url}/v1/chat/completions", json=body, timeout=10
        ) as response:
            text = response.read().decode()
        assert ": keep-alive" in text
        assert text.rstrip().endswith("data: [DONE]")
    finally:
        s.stop()


def test_breaker_opens_then_half_opens_then_closes(
    server: ServerThread, cloud: FakeLLM, local: FakeLLM
) -> None:
    client = openai_client(server)
    breaker = server.app.state.proxy.service.cloud.breaker
    cloud.script(Reply(status=500), Reply(status=500), Reply(status=500))
    for _ in range(3):
        client.chat.completions.create(model="cloud", messages=[{"role": "user", "content": "hi"}])
    assert breaker.state == "open"
    calls = len(cloud.requests)
    answer = client.chat.completions.create(
        model="cloud", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content == "local says hi"
    assert len(cloud.requests) == calls  # open: the cloud is not even tried
    health = httpx.get(f"{server.url}/api/service-health").json()
    assert health["cloud"]["status"] == "breaker_open"

    breaker.opened_at -= breaker.cooldown_s  # the cooldown has passed
    answer = client.chat.completions.create(
        model="cloud", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content == "cloud says hi"  # the half-open probe succeeded
    assert breaker.state == "closed"
    assert httpx.get(f"{server.url}/api/service-health").json()["cloud"]["status"] == "up"


def test_a_client_disconnect_is_not_an_upstream_failure(
    server: ServerThread, cloud: FakeLLM
) -> None:
    gate = threading.Event()
    cloud.script(Reply("a " * 50, gate=gate, chunk_delay_s=0.01))
    body = {"model": "cloud", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    with httpx.stream(
        "POST", f"{server.url}/v1/chat/completions", json=body, timeout=10
    ) as response:
        next(response.iter_lines())
    gate.set()
    breaker = server.app.state.proxy.service.cloud.breaker
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # poll until the proxy has recorded the request
        events = routing_events(server)
        if events and events[0]["status"] == "client_closed":
            break
        time.sleep(0.05)
    assert events[0]["status"] == "client_closed"
    assert breaker.consecutive_failures == 0 and breaker.state == "closed"
    while (
        cloud.disconnects == 0 and time.monotonic() < deadline
    ):  # the upstream request was cancelled
        time.sleep(0.05)
    assert cloud.disconnects == 1


_STREAM_BODIES: dict[str, tuple[str, dict[str, Any]]] = {
    "openai": ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}),
    "anthropic": (
        "/v1/messages",
        {"max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]},
    ),
    "responses": ("/v1/responses", {"input": "hi"}),
}
_FINAL_MARKS = ("data: [DONE]", "message_stop", "response.completed")


@pytest.mark.parametrize("upstream_protocol", ["openai", "anthropic", "responses"])
@pytest.mark.parametrize("client_protocol", ["openai", "anthropic", "responses"])
def test_a_stream_cut_before_its_final_event_is_an_upstream_error(
    tmp_path: Path, cloud: FakeLLM, upstream_protocol: str, client_protocol: str
) -> None:
    settings = proxy_settings(tmp_path, cloud, None, cloud={"protocol": upstream_protocol})
    s = ServerThread(settings).start()
    try:
        cloud.script(Reply("a b c d e f", truncate_after=2))
        path, body = _STREAM_BODIES[client_protocol]
        with httpx.stream(
            "POST",
            f"{s.url}{path}",
            json={"model": "cloud", "stream": True, **body},
            timeout=10,
        ) as response:
            text = response.read().decode()
        assert not any(mark in text for mark in _FINAL_MARKS), text
        assert "the stream ended before its final event" in text  # an error event, in its shape
        event = routing_events(s)[0]
        assert event["status"] == "upstream_error"
        assert s.app.state.proxy.service.cloud.breaker.consecutive_failures == 1
    finally:
        s.stop()


def test_sdk_clients_see_the_cut_stream_as_an_error(server: ServerThread, cloud: FakeLLM) -> None:
    cut = Reply("a b c d", truncate_after=2)
    _both_sdks_see_an_error(server, cloud, cut, cut)


def _poll(condition: Any, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream-before-first-byte"])
def test_a_client_that_gives_up_cancels_the_upstream_call(
    server: ServerThread, cloud: FakeLLM, stream: bool
) -> None:
    service = server.app.state.proxy.service
    for _ in range(3):
        cloud.script(Reply(hang=True))
    for _ in range(3):
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(
                f"{server.url}/v1/chat/completions",
                json={
                    "model": "cloud",
                    "stream": stream,
                    "messages": [{"role": "user", "content": "x"}],
                },
                timeout=httpx.Timeout(5, read=0.3),
            )
    # Each upstream request was closed (the cloud stops, and bills nothing more)...
    _poll(lambda: cloud.disconnects == 3, "the upstream requests were not cancelled")
    _poll(lambda: service.in_flight["cloud"] == 0, "in-flight count not freed")
    # ...recorded as cancelled by the client, not against the upstream.
    _poll(lambda: len(routing_events(server)) == 3, "events not recorded")
    assert {e["status"] for e in routing_events(server)} == {"client_cancelled"}
    assert service.cloud.breaker.consecutive_failures == 0
    assert service.cloud.breaker.state == "closed"


def test_a_cancelled_probe_frees_the_half_open_slot(tmp_path: Path, cloud: FakeLLM) -> None:
    settings = proxy_settings(tmp_path, cloud, None)
    settings.proxy.breaker.failures = 1
    settings.proxy.breaker.cooldown_s = 0.2
    s = ServerThread(settings).start()
    try:
        breaker = s.app.state.proxy.service.cloud.breaker
        body = {"model": "cloud", "messages": [{"role": "user", "content": "x"}]}
        cloud.script(Reply(status=500, raw_body="down"))
        assert httpx.post(f"{s.url}/v1/chat/completions", json=body).status_code == 502
        assert breaker.state == "open"
        _poll(lambda: breaker.retry_in_s() == 0, "cooldown never ended")
        cloud.script(Reply(hang=True))  # the probe: its client gives up
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(
                f"{s.url}/v1/chat/completions", json=body, timeout=httpx.Timeout(5, read=0.3)
            )
        _poll(lambda: cloud.disconnects == 1, "the probe was not cancelled")
        # The next request may probe again: the slot was freed, and the upstream is fine.
        ok = httpx.post(f"{s.url}/v1/chat/completions", json=body)
        assert ok.status_code == 200 and breaker.state == "closed"
    finally:
        s.stop()


def test_a_saturated_proxy_says_so_and_blames_no_upstream(
    tmp_path: Path, cloud: FakeLLM, local: FakeLLM
) -> None:
    settings = proxy_settings(tmp_path, cloud, local, max_connections=2)
    settings.proxy.timeouts.connect_s = 0.3
    s = ServerThread(settings).start()
    try:
        for _ in range(2):
            cloud.script(Reply(hang=True))
        body = {"model": "cloud", "messages": [{"role": "user", "content": "x"}]}

        def slow() -> None:
            with contextlib.suppress(httpx.ReadTimeout):
                httpx.post(
                    f"{s.url}/v1/chat/completions", json=body, timeout=httpx.Timeout(5, read=3)
                )

        holders = [threading.Thread(target=slow) for _ in range(2)]
        for t in holders:
            t.start()
        _poll(lambda: len(cloud.requests) == 2, "the two slots were not taken")
        refused = httpx.post(f"{s.url}/v1/chat/completions", json=body)
        assert refused.status_code == 503 and refused.headers["retry-after"] == "2"
        assert "saturated" in refused.json()["error"]["message"]
        service = s.app.state.proxy.service
        assert service.cloud.breaker.state == "closed"
        assert service.cloud.breaker.consecutive_failures == 0
        assert len(cloud.requests) == 2 and local.requests == []  # no fallback: it is ours
        cloud.release.set()
        for t in holders:
            t.join(10)
    finally:
        s.stop()


def test_out_of_file_descriptors_is_the_proxys_own_limit() -> None:
    import errno

    from proxy.upstream import _out_of_files

    cause = OSError(errno.EMFILE, "Too many open files")
    wrapped = httpx.ConnectError("cannot connect")
    wrapped.__cause__ = cause
    assert _out_of_files(wrapped)
    assert not _out_of_files(httpx.ConnectError("refused"))


def test_the_log_names_fallbacks_and_an_opening_breaker_with_the_request_id(
    tmp_path: Path, cloud: FakeLLM, local: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    settings = proxy_settings(tmp_path, cloud, local)
    settings.proxy.breaker.failures = 1
    s = ServerThread(settings).start()
    try:
        cloud.script(Reply(status=500, raw_body="down"))
        with caplog.at_level(logging.INFO, logger="brainrouter"):
            answer = openai_client(s).chat.completions.create(
                model="cloud", messages=[{"role": "user", "content": "hi"}]
            )
        assert answer.choices[0].message.content == "local says hi"
        event_id = routing_events(s)[0]["id"]
        messages = [r.getMessage() for r in caplog.records]
        assert any("cloud circuit breaker opened" in m for m in messages), messages
        assert any(f"[{event_id}] falling back" in m for m in messages), messages
    finally:
        s.stop()
