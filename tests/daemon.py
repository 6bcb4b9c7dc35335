"""Start the real daemon (`brainrouter serve`) as a subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.conftest import free_port

BRAINROUTER = str(Path(sys.executable).parent / "brainrouter")


def wait_healthy(
    url: str, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None
) -> int:
    """Poll /health until the daemon answers; returns its pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"daemon exited with {proc.returncode}")
        try:
            response = httpx.get(f"{url}/health", timeout=1.0)
            if response.status_code == 200:
                return int(response.json()["pid"])
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"no daemon answered at {url} within {timeout}s")


class Daemon:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env, "BRAINROUTER_SERVER__PORT": str(self.port)}
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, preexec_fn: Callable[[], None] | None = None, *args: str) -> Daemon:
        """Start and wait until healthy; `preexec_fn` runs in the child first (limits...),
        `args` follow `serve` on its command line."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [BRAINROUTER, "serve", *args],
                env=self.env,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                preexec_fn=preexec_fn,
            )
        wait_healthy(self.url, proc=self.proc)
        return self

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def admin_token(self) -> str:
        """The token this daemon made on start (in its config dir), as `brainrouter token` shows."""
        config_home = Path(self.env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        return (config_home / "brainrouter" / "admin-token").read_text().strip()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
