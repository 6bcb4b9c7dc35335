"""The daemon's app served by uvicorn in a thread of the test process, on a free port."""

from __future__ import annotations

import threading
import time

import uvicorn
from fastapi import FastAPI

from mcp_server.config import Settings
from mcp_server.daemon import build_app
from tests.conftest import free_port


class ServerThread:
    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        settings.server.port = self.port
        self.app: FastAPI = build_app(settings)
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:  # poll for readiness
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
