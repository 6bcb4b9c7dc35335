"""What brainrouter's proxy adds on top of a fast upstream, measured on this machine.

    .venv/bin/python bench/proxy_overhead.py [--rounds 15] [--per-round 40] [--seconds 5]
                                             [--peer URL] [--json-out FILE]

Starts bench/mock_upstream.py and `brainrouter serve` (routing model=cloud to the mock), then:
  1. added latency: interleaved rounds of sequential requests, direct vs through the proxy;
     the median of the per-round median differences, and p99 of each side;
  2. streaming time to first byte, direct vs proxy, the same way;
  3. throughput at concurrency 1, 16, 64 and 256 (keep-alive connections, for --seconds each,
     in three interleaved rounds: the median of each);
  4. the daemon's memory (RSS) after the load, without a model loaded;
  5. with --streams N: N streams held open at once (the mock holds each for --hold-s), the
     daemon started as systemd would start it, with a soft limit of 1024 open files.
--peer URL measures another gateway (its /v1/chat/completions routed to the same mock, e.g. a
LiteLLM proxy started by hand) in the same run. Prints a table, then one line of JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).parent
BODY = json.dumps({"model": "cloud", "messages": [{"role": "user", "content": "say ok"}]}).encode()
STREAM_BODY = json.dumps(
    {"model": "cloud", "messages": [{"role": "user", "content": "say ok"}], "stream": True}
).encode()


class Conn:
    """A minimal keep-alive HTTP/1.1 client: the load generator must cost less than what it
    measures, on 2 cores shared with the proxy and the mock."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.path = (
            parts.hostname or "127.0.0.1",
            parts.port or 80,
            parts.path,
        )
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> Conn:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def post(self, body: bytes) -> tuple[float, float]:
        """Returns (seconds to the first body byte, seconds to the end)."""
        assert self.reader is not None and self.writer is not None
        start = time.perf_counter()
        self.writer.write(
            b"POST %s HTTP/1.1\r\nhost: %s:%d\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n%s"
            % (self.path.encode(), self.host.encode(), self.port, len(body), body)
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(head.split(b"\r\n")[0].decode())
        lowered = head.lower()
        if b"transfer-encoding: chunked" in lowered:
            first = None
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                if first is None:
                    first = time.perf_counter() - start
                if size == 0:
                    await self.reader.readline()
                    break
                await self.reader.readexactly(size + 2)
            return first, time.perf_counter() - start
        length = int(lowered.split(b"content-length:")[1].split(b"\r\n")[0])
        await self.reader.readexactly(length)
        elapsed = time.perf_counter() - start
        return elapsed, elapsed

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def sequential(
    targets: dict[str, str], rounds: int, per_round: int, body: bytes, which: int
) -> dict[str, list[list[float]]]:
    conns = {name: await Conn(url).open() for name, url in targets.items()}
    for conn in conns.values():  # warm up
        for _ in range(20):
            await conn.post(body)
    samples: dict[str, list[list[float]]] = {name: [] for name in targets}
    for _ in range(rounds):
        for name, conn in conns.items():  # interleaved: each round measures every target
            samples[name].append([(await conn.post(body))[which] * 1000 for _ in range(per_round)])
    for conn in conns.values():
        conn.close()
    return samples


async def throughput(url: str, concurrency: int, seconds: float) -> float:
    conns = [await Conn(url).open() for _ in range(concurrency)]
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(conn: Conn) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await conn.post(BODY)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - started
    for conn in conns:
        conn.close()
    return done / elapsed


CONCURRENCY = (1, 16, 64, 256)


def interleaved_throughput(url: str, seconds: float, rounds: int = 3) -> dict[int, float]:
    """Requests/s at each concurrency: the median of `rounds` rounds, each running every
    concurrency for seconds/rounds in turn, so a slow spell of the machine (its noise is
    ±30% here) lands on all of them, not on one."""
    runs: dict[int, list[float]] = {c: [] for c in CONCURRENCY}
    for _ in range(rounds):
        for c in CONCURRENCY:
            runs[c].append(asyncio.run(throughput(url, c, seconds / rounds)))
    return {c: statistics.median(values) for c, values in runs.items()}


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _summary(
    samples: dict[str, list[list[float]]], base: str = "direct"
) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name, rounds in samples.items():
        flat = [v for r in rounds for v in r]
        entry = {"p50_ms": statistics.median(flat), "p99_ms": _p(flat, 0.99)}
        if name != base:
            diffs = [
                statistics.median(r) - statistics.median(b)
                for r, b in zip(rounds, samples[base], strict=True)
            ]
            entry["added_p50_ms"] = statistics.median(diffs)
            entry["added_p99_ms"] = entry["p99_ms"] - _p(
                [v for r in samples[base] for v in r], 0.99
            )
        out[name] = entry
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, timeout: float = 30.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(url)


def _rss_mb(pid: int) -> tuple[float, float]:
    fields = dict(
        line.split(":", 1)
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _start(
    mock_args: list[str], preexec_fn: Callable[[], None] | None = None
) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes], int, int]:
    """The mock upstream and `brainrouter serve` routing model=cloud to it: (mock, daemon,
    daemon's port, mock's port). The caller waits for /health and ends both."""
    mock_port, proxy_port = _free_port(), _free_port()
    tmp = Path(tempfile.mkdtemp(prefix="brainrouter-bench-"))
    env = {
        **os.environ,
        "BRAINROUTER_SERVER__PORT": str(proxy_port),
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
        "BRAINROUTER_PROXY__CLOUD__BASE_URL": f"http://127.0.0.1:{mock_port}/v1",
        "BRAINROUTER_PROXY__CLOUD__MODEL": "bench",
        "BRAINROUTER_LOG_LEVEL": "warning",
        # The proxy alone: with no local server configured the embedded model would load at
        # start (bench/model_memory.py measures it).
        "BRAINROUTER_PROXY__MODEL__ENABLED": "false",
    }
    mock = subprocess.Popen(
        [sys.executable, str(HERE / "mock_upstream.py"), str(mock_port), *mock_args]
    )
    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "brainrouter"), "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=preexec_fn,
    )
    return mock, daemon, proxy_port, mock_port


def _systemd_like_limits() -> None:
    """In the daemon's process before exec: a soft limit of 1024 open files, as systemd's."""
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))


async def _one_stream(port: int) -> str:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return "failed"
    try:
        writer.write(
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:%d\r\n"
            b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
            % (port, len(STREAM_BODY), STREAM_BODY)
        )
        head = await reader.readuntil(b"\r\n\r\n")
        if head.startswith(b"HTTP/1.1 503"):
            return "saturated"
        if not head.startswith(b"HTTP/1.1 200"):
            return "failed"
        body = await reader.read(-1) if b"connection: close" in head.lower() else b""
        while b"0\r\n\r\n" not in body:
            chunk = await reader.read(65536)
            if not chunk:
                break
            body += chunk
        return "ok" if b"[DONE]" in body and b'"error"' not in body else "failed"
    except (OSError, asyncio.IncompleteReadError):
        return "failed"
    finally:
        writer.close()


def held_streams_run(n: int, hold_s: float) -> dict[str, int]:
    """A daemon under a soft limit of 1024 open files, n streams held open at once."""
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the load generator's own
    mock, daemon, proxy_port, _mock_port = _start([str(hold_s)], preexec_fn=_systemd_like_limits)
    try:
        _wait(f"http://127.0.0.1:{proxy_port}/health")

        async def all_streams() -> list[str]:
            return list(await asyncio.gather(*(_one_stream(proxy_port) for _ in range(n))))

        outcomes = asyncio.run(all_streams())
    finally:
        daemon.terminate()
        mock.terminate()
        daemon.wait(10)
        mock.wait(10)
    return {k: outcomes.count(k) for k in ("ok", "saturated", "failed")}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--per-round", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--peer", help="another gateway's base URL (…/v1) routed to the same mock")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--streams", type=int, default=0, help="hold this many streams at once")
    parser.add_argument("--hold-s", type=float, default=3.0)
    args = parser.parse_args()

    mock, daemon, proxy_port, mock_port = _start([])
    try:
        _wait(f"http://127.0.0.1:{proxy_port}/health")
        targets = {
            "direct": f"http://127.0.0.1:{mock_port}/v1/chat/completions",
            "brainrouter": f"http://127.0.0.1:{proxy_port}/v1/chat/completions",
        }
        if args.peer:
            targets["peer"] = args.peer.rstrip("/") + "/chat/completions"
        latency = _summary(asyncio.run(sequential(targets, args.rounds, args.per_round, BODY, 1)))
        ttfb = _summary(
            asyncio.run(sequential(targets, args.rounds, args.per_round, STREAM_BODY, 0))
        )
        rps = {name: interleaved_throughput(url, args.seconds) for name, url in targets.items()}
        rss, peak = _rss_mb(daemon.pid)
    finally:
        daemon.terminate()
        mock.terminate()
        daemon.wait(10)
        mock.wait(10)

    print(
        f"{'target':<12}{'p50 ms':>9}{'p99 ms':>9}{'added p50':>11}{'ttfb p50':>10}{'ttfb +':>8}"
        f"{'rps c=1':>9}{'c=16':>8}{'c=64':>8}{'c=256':>8}"
    )
    for name in targets:
        lat, first = latency[name], ttfb[name]
        print(
            f"{name:<12}{lat['p50_ms']:>9.2f}{lat['p99_ms']:>9.2f}{lat.get('added_p50_ms', 0):>11.2f}"
            f"{first['p50_ms']:>10.2f}{first.get('added_p50_ms', 0):>8.2f}"
            f"{rps[name][1]:>9.0f}{rps[name][16]:>8.0f}{rps[name][64]:>8.0f}{rps[name][256]:>8.0f}"
        )
    print(f"brainrouter daemon memory: {rss:.0f} MB RSS now, {peak:.0f} MB peak (no model loaded)")
    if args.streams:
        held = held_streams_run(args.streams, args.hold_s)
        print(
            f"{args.streams} streams held {args.hold_s:g}s at once (soft open-files limit 1024): "
            f"{held['ok']} ok, {held['saturated']} told to retry (503), {held['failed']} failed"
        )
    result = {
        "held_streams": held if args.streams else None,
        "latency": latency,
        "stream_first_byte": ttfb,
        "throughput_rps": rps,
        "daemon_rss_mb": rss,
        "daemon_peak_rss_mb": peak,
    }
    print(json.dumps(result))
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
