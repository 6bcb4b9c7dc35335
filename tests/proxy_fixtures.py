"""Shared fixtures of the proxy tests: two fake upstreams (cloud, local) and the daemon's app
served on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from mcp_server.config import Settings
from proxy.settings import ProxySettings
from tests.fake_llm import FakeLLM, Reply
from tests.proxy_server import ServerThread

TOOLS_ANTHROPIC = [
    {
        "name": "read_file",
        "description": "Read a file",
        "input_schema": {
            "type": "object",
            "properties": {"path": {"type": "string"}},
            "required": ["path"],
        },
    }
]


@pytest.fixture
def cloud() -> Iterator[FakeLLM]:
    llm = FakeLLM(default=Reply("cloud says hi")).start()
    yield llm
    llm.stop()


@pytest.fixture
def local() -> Iterator[FakeLLM]:
    llm = FakeLLM(default=Reply("local says hi")).start()
    yield llm
    llm.stop()


def proxy_settings(
    tmp_path: Path,
    cloud_llm: FakeLLM | None,
    local_llm: FakeLLM | None,
    cloud: dict[str, Any] | None = None,
    local: dict[str, Any] | None = None,
    **proxy: Any,
) -> Settings:
    data: dict[str, Any] = {
        "cloud": {
            "base_url": cloud_llm.base_url if cloud_llm else None,
            "model": "big-cloud-model",
            **(cloud or {}),
        },
        "local": {
            "base_url": local_llm.base_url if local_llm else None,
            "model": "small-local-model",
            "fallback_model": "fallback-local-model",
            **(local or {}),
        },
        "timeouts": {"first_byte_s": 2, "stall_s": 1, "keepalive_s": 0.3, "connect_s": 2},
        **proxy,
    }
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'proxy.db'}", proxy=ProxySettings.model_validate(data)
    )


@pytest.fixture
def server(tmp_path: Path, cloud: FakeLLM, local: FakeLLM) -> Iterator[ServerThread]:
    s = ServerThread(proxy_settings(tmp_path, cloud, local)).start()
    yield s
    s.stop()


@pytest.fixture
def anthropic_cloud(tmp_path: Path, cloud: FakeLLM) -> Iterator[ServerThread]:
    """The daemon's app with an Anthropic cloud upstream (the `cloud` fake) and no local."""
    s = ServerThread(proxy_settings(tmp_path, cloud, None, cloud={"protocol": "anthropic"})).start()
    yield s
    s.stop()


def openai_client(server: ServerThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)


def anthropic_client(server: ServerThread) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key="unused", max_retries=0)


def routing_events(server: ServerThread) -> list[dict[str, Any]]:
    return list(httpx.get(f"{server.url}/api/routing-events").json()["events"])
