"""What `brainrouter serve` says at start (mcp_server/startup.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_server.config import Settings
from mcp_server.startup import summary
from tests.daemon import Daemon
from tests.fake_llm import FakeLLM


def test_nothing_configured_says_what_to_set() -> None:
    lines = "\n".join(summary(Settings(), embedded_local=True))
    assert "proxy cloud: not configured (set proxy.cloud.base_url" in lines
    assert "proxy local: the embedded model" in lines
    assert "review local: not configured (set review.local.base_url)" in lines
    assert "request_review will escalate every round" in lines


def test_keys_are_named_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_CLOUD_KEY", "sk-very-secret-value")
    settings = Settings.model_validate(
        {
            "proxy": {
                "cloud": {
                    "base_url": "https://gw.example/v1",
                    "model": "big",
                    "api_key_env": "MY_CLOUD_KEY",
                }
            },
            "review": {"cloud": {"base_url": "https://gw.example/v1", "api_key_env": "GONE"}},
        }
    )
    lines = "\n".join(summary(settings, embedded_local=False))
    assert "key from $MY_CLOUD_KEY" in lines and "sk-very-secret-value" not in lines
    assert "key MISSING (set $GONE)" in lines
    assert "request_review will escalate" not in lines


def test_serve_logs_it(tmp_path: Path, fake_llm: FakeLLM) -> None:
    env = {
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
        "BRAINROUTER_REVIEW__LOCAL__BASE_URL": fake_llm.base_url,
        "BRAINROUTER_PROXY__MODEL__ENABLED": "false",
    }
    d = Daemon(env, tmp_path / "start.log").start()
    d.stop()
    log = d.log()
    assert f"review local: {fake_llm.base_url}" in log
    assert "proxy cloud: not configured" in log
