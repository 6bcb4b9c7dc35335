"""What `brainrouter serve` says at start (mcp_server/startup.py): what is configured, what is
missing, in words a user can act on."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from mcp_server.config import Settings
from mcp_server.review_route import ProxyReviewers
from mcp_server.startup import summary
from tests.daemon import Daemon
from tests.fake_llm import FakeLLM


def _summary(settings: Settings, embedded_local: bool) -> str:
    # Which routes can review is read from settings; the proxy service is only used to ask.
    reviewers = ProxyReviewers(cast(Any, None), settings, embedded_local)
    return "\n".join(summary(settings, embedded_local, reviewers))


def test_nothing_configured_says_what_to_set() -> None:
    lines = _summary(Settings(), embedded_local=True)
    assert "proxy cloud: not configured (set proxy.cloud.base_url" in lines
    assert "proxy local: the embedded model" in lines
    assert "request_review will escalate every round to a human" in lines
    assert "cloud: proxy.cloud.base_url (and proxy.cloud.model)" in lines
    assert "the embedded model (Gemma 3 270M) is too small to review" in lines


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
            }
        }
    )
    lines = _summary(settings, embedded_local=True)
    assert "key from $MY_CLOUD_KEY" in lines and "sk-very-secret-value" not in lines
    assert "review: mode auto, through the proxy's cloud upstream(s)" in lines
    assert "request_review will escalate" not in lines


def test_a_missing_key_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GONE", raising=False)
    settings = Settings.model_validate(
        {"proxy": {"cloud": {"base_url": "https://gw/v1", "model": "m", "api_key_env": "GONE"}}}
    )
    lines = _summary(settings, embedded_local=False)
    assert "key MISSING (set $GONE)" in lines
    assert "the GONE environment variable (proxy.cloud's key)" in lines


def test_forced_mode_without_its_route_says_so() -> None:
    settings = Settings.model_validate(
        {
            "proxy": {"local": {"base_url": "http://127.0.0.1:8080/v1", "model": "qwen"}},
            "review": {"mode": "cloud"},
        }
    )
    lines = _summary(settings, embedded_local=False)
    assert "review: mode cloud, through the proxy's local upstream(s)" in lines
    assert (
        "request_review will escalate every round to a human: no reviewer can be asked; "
        "to review, set cloud: proxy.cloud.base_url" in lines
    )


def test_serve_logs_it_and_adopts_the_old_review_keys(tmp_path: Path, fake_llm: FakeLLM) -> None:
    env = {
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
        "BRAINROUTER_REVIEW__LOCAL__BASE_URL": fake_llm.base_url,
        "BRAINROUTER_PROXY__MODEL__ENABLED": "false",
    }
    d = Daemon(env, tmp_path / "start.log").start()
    d.stop()
    log = d.log()
    assert (
        f"review.local is deprecated: its endpoint ({fake_llm.base_url}) now serves as "
        "proxy.local" in log
    )
    assert f"proxy local: {fake_llm.base_url}" in log
    assert "review: mode auto, through the proxy's local upstream(s)" in log
    assert "proxy cloud: not configured" in log


def test_a_judge_on_the_cpu_is_said_to_be_too_slow(monkeypatch: pytest.MonkeyPatch) -> None:
    import llama_cpp

    settings = Settings.model_validate({"proxy": {"classifier": {"judge": True}}})
    monkeypatch.setattr(llama_cpp, "llama_supports_gpu_offload", lambda: False)
    cpu = _summary(settings, embedded_local=True)
    assert "the model judge is on but runs on the CPU" in cpu
    assert "proxy.classifier.timeout_ms (50 ms)" in cpu
    monkeypatch.setattr(llama_cpp, "llama_supports_gpu_offload", lambda: True)
    assert "the model judge is on (on the GPU" in _summary(settings, embedded_local=True)
    off = Settings.model_validate(
        {"proxy": {"classifier": {"judge": True}, "model": {"n_gpu_layers": 0}}}
    )
    assert "runs on the CPU" in _summary(off, embedded_local=True)
    assert "model judge" not in _summary(Settings(), embedded_local=True)
