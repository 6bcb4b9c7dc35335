"""`brainrouter doctor`'s checks (mcp_server/doctor.py), run in-process on config files."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_server.doctor import run_checks


def _doctor(config: Path) -> str:
    lines: list[str] = []
    run_checks(config, lines.append)
    return "\n".join(lines)


def test_a_judge_that_would_run_on_the_cpu_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import llama_cpp

    monkeypatch.setattr(llama_cpp, "llama_supports_gpu_offload", lambda: False)
    config = tmp_path / "config.yaml"
    config.write_text("proxy:\n  classifier:\n    judge: true\n")
    report = _doctor(config)
    assert "ok    configuration is valid" in report
    assert "the model judge is on but runs on the CPU" in report
    config.write_text("proxy:\n  classifier:\n    judge: false\n")
    assert "model judge" not in _doctor(config)


def test_a_broken_config_is_named_and_stops_the_checks(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("proxy:\n  classifier:\n    judge: sometimes\n")
    report = _doctor(config)
    assert "FAIL" in report and "judge" in report
    assert "upstreams" not in report
