"""The router behind model=auto, measured on this machine.

    .venv/bin/python bench/classifier.py [--data FILE.jsonl ...] [--judge] [--kind learned|length]

For each file (by default ../shared/routing-eval/ and our own proxy/classifier/data/agent-tasks.jsonl,
whose labels are our judgement): decision latency p50/p99 per stage (stage 1: the learned linear
router, or with --kind length the length scorer auto uses by default; stage 2:
the model judge, with --judge, timed on its own over a sample), and RouteLLM's metrics on the
records the shipped weights were NOT trained on (train.py holds out ids hashing to 0 mod 5),
next to the prompt-length and random baselines; with --leave-one-source-out, what holds on a
file the router never saw (trained on the others). Prints a table, then JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

from proxy.classifier import CascadeClassifier
from proxy.classifier.evaluation import held_out, load_records, run
from proxy.settings import ClassifierSettings, ModelSettings

DEFAULT_DATA = [
    *(
        Path(__file__).resolve().parents[2] / "shared" / "routing-eval" / n
        for n in ("gsm8k.jsonl", "mmlu-dev.jsonl")
    ),
    Path(__file__).resolve().parents[1] / "proxy" / "classifier" / "data" / "agent-tasks.jsonl",
]


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def judge_latency(prompts: list[str]) -> list[float]:
    from proxy.classifier.judge import model_judge
    from proxy.model_server import ModelServer

    model = ModelServer(ModelSettings(n_ctx=2048))
    await model.ensure_loaded()
    judge = model_judge(model)
    timings = []
    for prompt in prompts:
        started = time.perf_counter()
        await judge(prompt)
        timings.append((time.perf_counter() - started) * 1000)
    model.close()
    return timings


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, action="append")
    parser.add_argument("--judge", action="store_true", help="also time the model judge (stage 2)")
    parser.add_argument(
        "--leave-one-source-out",
        action="store_true",
        help="also train on all files but one and score that one, for each (needs the train "
        "extra: scikit-learn; about a minute)",
    )
    parser.add_argument(
        "--kind",
        choices=("learned", "length"),
        default="learned",
        help="the stage-1 scorer to measure (auto's default is length; the figures in README "
        "are the learned one's)",
    )
    args = parser.parse_args()
    classifier = CascadeClassifier(ClassifierSettings(kind=args.kind, cache_size=0))
    report = []
    print(
        f"{'file':<16}{'held out':>9}{'APGR':>7}{'CPT50':>7}{'CPT80':>7}{'length':>8}{'random':>8}"
        f"{'p50 ms':>8}{'p99 ms':>8}{'cloud':>7}"
    )
    for path in args.data or DEFAULT_DATA:
        records = [r for r in load_records(path) if held_out(r.id)]
        learned = await run(classifier, records)
        length = await run("length", records)
        randoms = [await run("random", records) for _ in range(1)]
        m = learned.metrics
        row = {
            "file": path.name,
            "held_out": m.count,
            "apgr": m.apgr,
            "cpt50": m.cpt50,
            "cpt80": m.cpt80,
            "length_apgr": length.metrics.apgr,
            "random_apgr": statistics.mean(r.metrics.apgr for r in randoms),
            "stage1_p50_ms": learned.latency(0.5),
            "stage1_p99_ms": learned.latency(0.99),
            # share of these prompts the default threshold sends to the cloud
            "cloud_share": sum(x >= classifier.threshold for x in learned.scores) / m.count,
        }
        if args.judge:
            timings = await judge_latency([r.prompt for r in records[:40]])
            row["judge_p50_ms"], row["judge_p99_ms"] = _p(timings, 0.5), _p(timings, 0.99)
        report.append(row)
        print(
            f"{path.name:<16}{m.count:>9}{m.apgr:>7.3f}{m.cpt50:>7.3f}{m.cpt80:>7.3f}"
            f"{row['length_apgr']:>8.3f}{row['random_apgr']:>8.3f}{row['stage1_p50_ms']:>8.3f}"
            f"{row['stage1_p99_ms']:>8.3f}{row['cloud_share']:>7.0%}"
            + (
                f"   judge p50 {row['judge_p50_ms']:.0f} ms p99 {row['judge_p99_ms']:.0f} ms"
                if args.judge
                else ""
            )
        )
    # Inputs built to hurt: the slowest of them bounds the decision time a client can force.
    adversarial = {
        "blank lines": "\n" * 100_000,
        "commas": "1," * 50_000,
        "spaces": " " * 100_000,
        "option lines": "A. x\n" * 20_000,
        "emoji": "漢字🙂" * 40_000,
    }
    worst = []
    for name, text in adversarial.items():
        started = time.perf_counter()
        classifier.scorer.rate(text)
        worst.append(((time.perf_counter() - started) * 1000, name))
    slowest_ms, slowest = max(worst)
    print(f"adversarial inputs: slowest {slowest} at {slowest_ms:.1f} ms")
    report.append({"adversarial_slowest_ms": slowest_ms, "adversarial_slowest": slowest})
    if args.leave_one_source_out:
        from proxy.classifier.train import leave_one_source_out

        print("leave one source out: trained on the other files, scored on this one")
        print(f"{'left out':<20}{'records':>8}{'APGR':>7}{'length':>8}{'random 5-95%':>15}")
        for row in leave_one_source_out(args.data or DEFAULT_DATA):
            print(
                f"{row['left_out']:<20}{row['records']:>8}{row['apgr']:>7.3f}"
                f"{row['length_apgr']:>8.3f}"
                f"{row['random_apgr_p5']:>9.3f}-{row['random_apgr_p95']:.3f}"
            )
            report.append(row)
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main())
