"""What the privacy guard costs per request, measured on this machine.

    .venv/bin/python bench/privacy.py [--turns 20] [--kb 300]

A coding-agent conversation grows by one turn a request and resends everything before it, so
the guard is timed turn by turn on a synthetic Claude Code-shaped request of about --kb kB
(system prompt, code read by tools, a few planted secrets): the first turn scans everything,
later turns scan only what is new (each string's result is cached). Also the review prompt's
redaction (review/privacy.py on a whole diff), done once per round. Prints a table, then JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from proxy.privacy import PrivacyGuard
from review.privacy import redact

ROOT = Path(__file__).resolve().parents[1]


def _code(kb: int) -> str:
    sources = sorted((ROOT / "proxy").rglob("*.py")) + sorted((ROOT / "review").rglob("*.py"))
    text = "\n".join(p.read_text() for p in sources)
    while len(text) < kb * 1024:
        text += text
    return text[: kb * 1024]


def _conversation(kb: int, turns: int) -> list[dict[str, object]]:
    code = _code(kb)
    system = code[: len(code) // 4]
    chunk = max(1, (len(code) - len(system)) // max(1, turns))
    messages: list[dict[str, object]] = [{"role": "system", "content": system}]
    for turn in range(turns):
        body = code[len(system) + turn * chunk : len(system) + (turn + 1) * chunk]
        if turn % 5 == 2:
            body += "\nAWS_SECRET = 'AKIAZ7QWERTYUIOPASDF'\n"
        messages.append({"role": "user", "content": f"turn {turn}: look at this\n{body}"})
        messages.append({"role": "assistant", "content": f"I read {len(body)} characters."})
    return messages


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--kb", type=int, default=300)
    args = parser.parse_args()
    messages = _conversation(args.kb, args.turns)
    guard = PrivacyGuard(redact)
    redact("warm up the detectors")
    per_turn: list[float] = []
    for turn in range(1, args.turns + 1):
        body = {"model": "cloud", "messages": messages[: 1 + 2 * turn]}
        started = time.perf_counter()
        guard.scan(body)
        per_turn.append((time.perf_counter() - started) * 1000)
    diff = _code(100)
    started = time.perf_counter()
    found = redact(diff)
    review_ms = (time.perf_counter() - started) * 1000
    result = {
        "request_kb": args.kb,
        "first_turn_ms": round(per_turn[0], 2),
        "later_turns_p50_ms": round(statistics.median(per_turn[1:]), 3),
        "later_turns_max_ms": round(max(per_turn[1:]), 3),
        "review_prompt_100kb_ms": round(review_ms, 2),
        "review_prompt_secrets": found.total,
    }
    print(f"{'measure':<26}value")
    for key, value in result.items():
        print(f"{key:<26}{value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
