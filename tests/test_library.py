"""`from proxy import Brainrouter`: the router without the daemon, sync and async, through
the public API only, against fake upstreams on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from proxy import Brainrouter, BrainrouterError
from tests.fake_llm import FakeLLM, Reply

ASK: dict[str, Any] = {"model": "auto", "messages": [{"role": "user", "content": "rename x to y"}]}


def _settings(cloud: FakeLLM, local: FakeLLM) -> dict[str, Any]:
    return {
        "cloud": {"base_url": cloud.base_url, "model": "big-model"},
        "local": {"base_url": local.base_url, "model": "small-model"},
    }


def test_decide_and_complete_sync(cloud: FakeLLM, local: FakeLLM) -> None:
    with Brainrouter(_settings(cloud, local)) as router:
        choice = router.decide(ASK)
        assert choice.mode == "auto" and choice.route in ("local", "cloud") and choice.reason
        forced = router.decide({**ASK, "model": "cloud"})
        assert (forced.route, forced.model) == ("cloud", "big-model")
        assert cloud.requests == [] and local.requests == []  # deciding sends nothing

        answer = router.complete({**ASK, "model": "cloud"})
        assert (answer.route, answer.model, answer.fallback) == ("cloud", "big-model", False)
        assert answer.body["choices"][0]["message"]["content"] == "cloud says hi"


def test_a_failing_cloud_falls_back_to_local(cloud: FakeLLM, local: FakeLLM) -> None:
    cloud.default = Reply(status=503)
    with Brainrouter(_settings(cloud, local)) as router:
        answer = router.complete({**ASK, "model": "cloud"})
    assert answer.route == "local" and answer.fallback is True


def test_anthropic_requests_are_translated(cloud: FakeLLM, local: FakeLLM) -> None:
    message = {"model": "local", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    with Brainrouter(_settings(cloud, local)) as router:
        answer = router.complete(message, protocol="anthropic")
    assert answer.body["type"] == "message" and answer.body["content"][0]["type"] == "text"
    assert local.paths[-1] == "/v1/chat/completions"  # the local upstream speaks chat


async def test_the_async_api(cloud: FakeLLM, local: FakeLLM) -> None:
    async with Brainrouter(_settings(cloud, local)) as router:
        choice = await router.adecide({**ASK, "model": "local"})
        answer = await router.acomplete({**ASK, "model": "local"})
    assert choice.route == answer.route == "local"


def test_bad_requests_and_routes_say_what_is_wrong(cloud: FakeLLM, local: FakeLLM) -> None:
    with Brainrouter(_settings(cloud, local)) as router:
        with pytest.raises(BrainrouterError, match="missing required field") as missing:
            router.decide({"messages": []})
        assert missing.value.status == 400
        with pytest.raises(BrainrouterError, match="stream"):
            router.complete({**ASK, "stream": True})
    with Brainrouter({"local": {"base_url": local.base_url, "model": "m"}}) as lonely:
        with pytest.raises(BrainrouterError, match="no cloud upstream") as refused:
            lonely.decide({**ASK, "model": "cloud"})
        assert refused.value.status == 503


def test_settings_from_the_daemons_config_file(
    tmp_path: Path, cloud: FakeLLM, local: FakeLLM
) -> None:
    config = tmp_path / "brainrouter.yaml"
    config.write_text(
        f"proxy:\n  cloud: {{base_url: '{cloud.base_url}', model: big-model}}\n"
        f"  local: {{base_url: '{local.base_url}', model: small-model}}\n"
        "review:\n  max_iterations: 3\n"
    )
    with Brainrouter.from_yaml(config) as router:
        assert router.decide({**ASK, "model": "local"}).model == "small-model"
