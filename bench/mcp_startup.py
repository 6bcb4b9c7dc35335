"""How fast `brainrouter mcp` answers `initialize` (harnesses give up after 1-2 s).

    .venv/bin/python bench/mcp_startup.py [--runs 10] [--command PATH]

Prints the time from spawning the process to the `initialize` reply, and to the `tools/list`
reply, as median and worst over the runs, then the same as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

_INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "bench", "version": "1"},
    },
}


def _send(proc: subprocess.Popen[bytes], message: dict[str, object]) -> None:
    assert proc.stdin is not None
    proc.stdin.write((json.dumps(message) + "\n").encode())
    proc.stdin.flush()


def one_run(command: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert proc.stdout is not None
    _send(proc, _INIT)
    proc.stdout.readline()
    initialized = time.perf_counter() - start
    _send(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    _send(proc, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    proc.stdout.readline()
    listed = time.perf_counter() - start
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(10)
    return initialized, listed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--command", default=str(Path(sys.executable).parent / "brainrouter"))
    args = parser.parse_args()
    one_run([args.command, "mcp"])  # warm the OS file cache
    runs = [one_run([args.command, "mcp"]) for _ in range(args.runs)]
    init = [r[0] * 1000 for r in runs]
    listed = [r[1] * 1000 for r in runs]
    print(f"{'step':<12}{'median ms':>12}{'worst ms':>12}")
    print(f"{'initialize':<12}{statistics.median(init):>12.0f}{max(init):>12.0f}")
    print(f"{'tools/list':<12}{statistics.median(listed):>12.0f}{max(listed):>12.0f}")
    print(
        json.dumps(
            {
                "runs": args.runs,
                "initialize_ms": {"median": statistics.median(init), "max": max(init)},
                "tools_list_ms": {"median": statistics.median(listed), "max": max(listed)},
            }
        )
    )


if __name__ == "__main__":
    main()
