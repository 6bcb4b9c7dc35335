"""`brainrouter mcp` as harnesses spawn it: `initialize` and `tools/list` answered at once,
everything else served by the full MCP server in a child process.

Harnesses give MCP servers little time at start (omp waits 250 ms, then offers its model no
tool of ours), and the full server takes about a second to import (FastMCP, pydantic, the
relay). So this front imports only the standard library: it answers `initialize` and, until
the child is ready, `tools/list` from `mcp_snapshot.json` (written by `mcp_server/snapshot.py`
from the real server; a test keeps it current), replays the client's `initialize` to the
child, and passes every other line through, both ways, in order. The child starts the daemon
at once when none answers, so the harness's model provider (the daemon) is up before its
first request.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

SNAPSHOT = Path(__file__).with_name("mcp_snapshot.json")
_REPLAYED_INIT = "brainrouter-stdio-front-initialize"


def _params(message: dict[str, Any]) -> dict[str, Any]:
    params = message.get("params")
    return params if isinstance(params, dict) else {}


class Front:
    def __init__(self, args: list[str]) -> None:
        self.snapshot: dict[str, Any] = json.loads(SNAPSHOT.read_text())
        self.child = subprocess.Popen(
            [sys.executable, "-m", "mcp_server", "mcp-backend", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.ready = threading.Event()  # the child answered the replayed initialize
        self._initialized = False
        self._out = sys.stdout.buffer
        self._out_lock = threading.Lock()

    def _write(self, line: bytes) -> None:
        with self._out_lock:
            self._out.write(line if line.endswith(b"\n") else line + b"\n")
            self._out.flush()

    def _reply(self, request_id: Any, result: dict[str, Any]) -> None:
        self._write(json.dumps({"jsonrpc": "2.0", "id": request_id, "result": result}).encode())

    def _to_child(self, line: bytes) -> None:
        assert self.child.stdin is not None
        try:
            self.child.stdin.write(line if line.endswith(b"\n") else line + b"\n")
            self.child.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # the child is gone: _from_child ends the process with its exit status

    def _initialize(self, request: dict[str, Any]) -> dict[str, Any]:
        params = _params(request)
        requested = params.get("protocolVersion")
        versions = self.snapshot["handshake_versions"]
        negotiated = requested if requested in versions else self.snapshot["latest_handshake"]
        return {**self.snapshot["initialize"], "protocolVersion": negotiated}

    def handle(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            message = None  # the child answers what is not JSON
        if isinstance(message, dict) and "id" in message:
            method = message.get("method")
            if method == "initialize" and not self._initialized:
                self._initialized = True
                self._reply(message["id"], self._initialize(message))
                self._to_child(json.dumps({**message, "id": _REPLAYED_INIT}).encode())
                return
            # Only in the handshake this front answered (a client of the 2026 era, which
            # negotiates with server/discover, talks to the child from its first line).
            if self._initialized and not self.ready.is_set():
                if method == "tools/list" and not _params(message).get("cursor"):
                    self._reply(message["id"], {"tools": self.snapshot["tools"]})
                    return
                if method == "ping":
                    self._reply(message["id"], {})
                    return
        self._to_child(line)

    def _from_child(self) -> None:
        assert self.child.stdout is not None
        for line in self.child.stdout:
            if _REPLAYED_INIT.encode() in line and not self.ready.is_set():
                try:
                    if json.loads(line).get("id") == _REPLAYED_INIT:
                        self.ready.set()
                        continue
                except ValueError:
                    pass
            self._write(line)
        # The child ended (stdin closed, or it failed): so does the server the harness sees.
        code = self.child.wait()
        with self._out_lock:
            self._out.flush()
        os._exit(code)

    def run(self) -> int:
        threading.Thread(target=self._from_child, name="mcp-child-out", daemon=True).start()
        for line in sys.stdin.buffer:
            if line.strip():
                self.handle(line)
        assert self.child.stdin is not None
        self.child.stdin.close()  # the harness closed our stdin: the child finishes and exits
        return self.child.wait()


def run(args: list[str]) -> int:
    if any(arg in ("--help", "-h") for arg in args):
        from mcp_server.cli import app  # typer prints the command's help

        app()
        return 0
    return Front(args).run()
