"""`brainrouter serve` itself: its command line and config errors, and the process limits it
sets (mcp_server/process.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.daemon import BRAINROUTER, Daemon
from tests.fake_llm import FakeLLM
from tests.test_daemon import _env


def test_serve_refuses_a_bad_config(tmp_path: Path) -> None:
    env = {**os.environ, "BRAINROUTER_SERVER__PORT": "not-a-port"}
    proc = subprocess.run(
        [BRAINROUTER, "serve"], env=env, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 2
    assert "server.port" in proc.stderr
    loud = subprocess.run(
        [BRAINROUTER, "serve", "--log-level", "shouty"], capture_output=True, text=True, timeout=30
    )
    assert loud.returncode == 2 and "--log-level must be one of debug" in loud.stderr


def test_serve_log_level_flag(tmp_path: Path, fake_llm: FakeLLM) -> None:
    env = {**_env(tmp_path, fake_llm), "BRAINROUTER_LOG_LEVEL": "warning"}
    d = Daemon(env, tmp_path / "debug.log").start(None, "--log-level", "DEBUG")
    d.stop()
    assert "DEBUG" in d.log()  # the flag wins over the config's warning


def test_serve_raises_the_open_files_limit(tmp_path: Path, fake_llm: FakeLLM) -> None:
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= 256:
        pytest.skip(f"the hard limit here is {hard}")

    def low_soft_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))

    d = Daemon(_env(tmp_path, fake_llm), tmp_path / "nofile.log").start(low_soft_limit)
    try:
        assert d.proc is not None
        limits = Path(f"/proc/{d.proc.pid}/limits").read_text()
        line = next(x for x in limits.splitlines() if x.startswith("Max open files"))
        assert int(line.split()[3]) > 256, line
    finally:
        d.stop()
