"""`brainrouter eval`: score a labelled file with a router, report RouteLLM's metrics."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from proxy.classifier.metrics import RouterMetrics, evaluate
from proxy.routing import Classifier, Features


class DataError(ValueError):
    pass


def fold_of(record_id: str) -> int:
    """Which of five splits a record is in; train.py holds split 0 out of the shipped weights."""
    return zlib.crc32(record_id.encode()) % 5


def held_out(record_id: str) -> bool:
    return fold_of(record_id) == 0


@dataclass
class Record:
    id: str
    prompt: str
    weak_score: float
    strong_score: float


def load_records(path: Path) -> list[Record]:
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    records: list[Record] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            record = Record(
                str(raw["id"]),
                str(raw["prompt"]),
                float(raw["weak_score"]),
                float(raw["strong_score"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(
                f"{path}:{number}: expected a JSON object with id, prompt, weak_score and strong_score ({exc!r})"
            ) from None
        records.append(record)
    if not records:
        raise DataError(f"{path}: no records")
    return records


def features_of(prompt: str) -> Features:
    return Features(latest_user_text=prompt)


@dataclass
class EvalResult:
    metrics: RouterMetrics
    scores: list[float]
    latencies_ms: list[float]

    def latency(self, quantile: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]


async def run(
    classifier: Classifier | str, records: list[Record], advance: Callable[[], None] = lambda: None
) -> EvalResult:
    """Score every record; `classifier` is a Classifier or a baseline name (length, random)."""
    scores: list[float] = []
    latencies: list[float] = []
    rng = random.Random(0)
    for record in records:
        started = time.perf_counter()
        if classifier == "length":
            score = float(len(record.prompt))
        elif classifier == "random":
            score = rng.random()
        else:
            assert not isinstance(classifier, str)
            score = (await classifier.classify(features_of(record.prompt))).score
        latencies.append((time.perf_counter() - started) * 1000)
        scores.append(score)
        advance()
    metrics = evaluate(scores, [r.weak_score for r in records], [r.strong_score for r in records])
    return EvalResult(metrics, scores, latencies)


@dataclass
class Baselines:
    """What a router must beat on the same records: ranking by prompt length, and chance
    (the APGR of random scores, 5th to 95th percentile over many draws)."""

    length_apgr: float
    random_p5: float
    random_p95: float


def baselines(records: list[Record], draws: int = 200) -> Baselines:
    weak = [r.weak_score for r in records]
    strong = [r.strong_score for r in records]
    length = evaluate([float(len(r.prompt)) for r in records], weak, strong).apgr
    rng = random.Random(0)
    chance = sorted(
        evaluate([rng.random() for _ in records], weak, strong).apgr for _ in range(draws)
    )
    return Baselines(length, chance[int(0.05 * draws)], chance[int(0.95 * draws) - 1])


def prompt_hash(prompt: str) -> int:
    """A prompt's identity, whatever its whitespace and case: to tell whether a file holds
    prompts the router was trained on."""
    normal = " ".join(prompt.split()).lower()
    return int.from_bytes(hashlib.blake2b(normal.encode(), digest_size=8).digest(), "little")


def pack_hashes(hashes: list[int]) -> str:
    return base64.b64encode(struct.pack(f"<{len(hashes)}Q", *sorted(hashes))).decode()


def unpack_hashes(text: str) -> frozenset[int]:
    packed = base64.b64decode(text)
    return frozenset(struct.unpack(f"<{len(packed) // 8}Q", packed))


def seen_in_training(records: list[Record], trained: frozenset[int]) -> int:
    """How many of these records the router was trained on."""
    return sum(prompt_hash(r.prompt) in trained for r in records)
