"""With no local LLM server configured, model=local is served by the in-process GGUF model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from mcp_server.config import Settings
from proxy.settings import ProxySettings
from tests.proxy_server import ServerThread


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerThread]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'e.db'}",
        proxy=ProxySettings.model_validate({"model": {"n_ctx": 1024, "max_tokens": 16}}),
    )
    s = ServerThread(settings).start()
    yield s
    s.stop()


def test_model_local_without_a_local_server(server: ServerThread) -> None:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="local", messages=[{"role": "user", "content": "Say hello."}], max_tokens=8
    )
    assert raw.headers["x-brainrouter-route"] == "local"
    answer = raw.parse()
    assert answer.model == "embedded" and isinstance(answer.choices[0].message.content, str)

    chunks = list(
        client.chat.completions.create(
            model="local",
            stream=True,
            messages=[{"role": "user", "content": "Count to three."}],
            max_tokens=8,
        )
    )
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")

    ids = [m.id for m in client.models.list()]
    assert "embedded" in ids
    status = httpx.get(f"{server.url}/api/inference-status").json()
    assert status["model"]["status"] == "ready" and status["model"]["gpu_offload"] in (True, False)


def test_an_unloadable_model_is_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'e.db'}",
        proxy=ProxySettings.model_validate({"model": {"path": str(tmp_path / "none.gguf")}}),
    )
    s = ServerThread(settings).start()
    try:
        client = openai.OpenAI(base_url=f"{s.url}/v1", api_key="unused", max_retries=0)
        with pytest.raises(openai.APIStatusError, match="does not exist"):
            client.chat.completions.create(
                model="local", messages=[{"role": "user", "content": "x"}]
            )
        # auto still routes (the learned router needs no model) and says where it went
        health = httpx.get(f"{s.url}/api/service-health").json()
        assert health["classifier"]["kind"] == "LearnedClassifier"
        assert health["classifier"]["model"]["status"] == "failed"
    finally:
        s.stop()
