"""The model server on an NVIDIA GPU: is the model resident there, how fast is it, and is its
judgement worth asking now that it is cheap.

    .venv/bin/python bench/gpu.py --build     # once: llama-cpp-python rebuilt with CUDA
    .venv/bin/python bench/gpu.py [--model FILE.gguf] [--n-ctx 4096] [--judge-data FILE ...]

--build reinstalls the pinned llama-cpp-python into this interpreter's environment with
CMAKE_ARGS=-DGGML_CUDA=on (needs nvcc; several minutes). Then, in a fresh process (so that
llama.cpp's own log can be read): whether the build can offload (llama_supports_gpu_offload),
llama.cpp's report of the load (how many layers went to the GPU, the CUDA buffers, how many
times a GGUF was loaded), VRAM used (nvidia-smi) before and with the model loaded, the load time, judge and
embedding latency (p50/p99 of 50 after a warm-up), and a completion's tokens/s.

With labelled files (--judge-data; by default ../shared/routing-eval/ and our agent tasks,
where present): the model judge's APGR on each, next to the length baseline, random's 95th
percentile and the cascade's blend (length scorer and judge averaged, as stage 2 does), and
the latency of whole `auto` decisions with the judge on (`proxy.classifier.judge: true`: asked
near the threshold, under its 50 ms limit). Without a GPU it measures the CPU build the same way and
says so. Prints tables, then JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_JUDGE_DATA = [
    ROOT.parent / "shared" / "routing-eval" / "gsm8k.jsonl",
    ROOT.parent / "shared" / "routing-eval" / "mmlu-dev.jsonl",
    ROOT / "proxy" / "classifier" / "data" / "agent-tasks.jsonl",
]


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


async def _laps(call: Any, count: int = 50) -> list[float]:
    await call()  # warm-up
    times = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _spread(records: list[Any], limit: int) -> list[Any]:
    """At most `limit` records, evenly spread over the file (its sources stay represented)."""
    if len(records) <= limit:
        return records
    step = len(records) / limit
    return [records[int(i * step)] for i in range(limit)]


async def _judge_quality(server: Any, files: list[Path], limit: int) -> list[dict[str, Any]]:
    from proxy.classifier import CascadeClassifier, LengthScorer
    from proxy.classifier.evaluation import baselines, load_records, run
    from proxy.classifier.judge import model_judge
    from proxy.classifier.metrics import evaluate
    from proxy.settings import ClassifierSettings

    judge = model_judge(server)
    scorer = LengthScorer()
    results = []
    for path in files:
        records = _spread(load_records(path), limit)
        weak = [r.weak_score for r in records]
        strong = [r.strong_score for r in records]
        judged, judge_ms = [], []
        for record in records:
            started = time.perf_counter()
            judged.append(await judge(record.prompt))
            judge_ms.append((time.perf_counter() - started) * 1000)
        blend = [(scorer.score(r.prompt) + j) / 2 for r, j in zip(records, judged, strict=True)]
        # Whole decisions as `auto` makes them with the judge on, timed by `brainrouter eval`'s
        # own loop (a fresh cascade: its per-conversation cache must not answer for the judge).
        # The judge is asked near the threshold; a call cut off by the time limit never returns.
        answered = 0

        async def counted(text: str) -> float:
            nonlocal answered
            cloud = await judge(text)
            answered += 1
            return cloud

        settings = ClassifierSettings(judge=True)
        cascade = CascadeClassifier(settings, counted)
        decisions = await run(cascade, records)
        asked = sum(
            abs(scorer.score(r.prompt) - cascade.threshold) < settings.judge_margin for r in records
        )
        base = baselines(records)
        results.append(
            {
                "file": path.name,
                "records": len(records),
                "judge_apgr": evaluate(judged, weak, strong).apgr,
                "blend_apgr": evaluate(blend, weak, strong).apgr,
                "length_apgr": base.length_apgr,
                "random_apgr_p95": base.random_p95,
                "judge_p50_ms": _p(judge_ms, 0.5),
                "judge_p99_ms": _p(judge_ms, 0.99),
                "decision_p50_ms": _p(decisions.latencies_ms, 0.5),
                "decision_p99_ms": _p(decisions.latencies_ms, 0.99),
                "decisions_asking_judge": asked,
                "judge_timeouts": asked - answered,
            }
        )
    return results


async def _measure(model: str, n_ctx: int, files: list[Path], limit: int) -> dict[str, Any]:
    import llama_cpp

    from proxy.model_server import ModelServer
    from proxy.settings import ModelSettings

    server = ModelServer(
        ModelSettings(
            path=Path(model) if model else None,
            n_ctx=n_ctx,
            n_gpu_layers=-1,
            verbose=True,  # llama.cpp's load report, read by the parent
        )
    )
    started = time.perf_counter()
    await server.ensure_loaded()
    load_s = time.perf_counter() - started
    vram_loaded = vram_mb()  # here: the parent's reading comes after this process is gone
    judge_ms = await _laps(
        lambda: server.choose("Is this task hard? Answer yes or no.\nAnswer:", [" yes", " no"])
    )
    embed_ms = await _laps(lambda: server.embed("Refactor the scheduler to use a lock-free queue."))
    started = time.perf_counter()
    answer = await server.complete(
        [{"role": "user", "content": "Write a short story about a robot learning to paint."}],
        max_tokens=128,
        temperature=0.0,
    )
    elapsed = time.perf_counter() - started
    tokens = int(answer["usage"]["completion_tokens"])
    quality = await _judge_quality(server, files, limit) if files else []
    server.close()
    return {
        "offload_supported": bool(llama_cpp.llama_supports_gpu_offload()),
        "load_s": load_s,
        "judge_p50_ms": _p(judge_ms, 0.5),
        "judge_p99_ms": _p(judge_ms, 0.99),
        "embed_p50_ms": _p(embed_ms, 0.5),
        "embed_p99_ms": _p(embed_ms, 0.99),
        "completion_tokens": tokens,
        "tokens_per_s": tokens / elapsed,
        "judge_quality": quality,
        "vram_loaded_mb": vram_loaded,
    }


def build() -> None:
    version = re.search(r"llama-cpp-python==([\d.]+)", (ROOT / "pyproject.toml").read_text())
    assert version, "llama-cpp-python is pinned in pyproject.toml"
    if not shutil.which("nvcc"):
        raise SystemExit("--build needs nvcc (the CUDA toolkit) on PATH")
    env = {**os.environ, "CMAKE_ARGS": "-DGGML_CUDA=on", "FORCE_CMAKE": "1"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--force-reinstall",
            "--no-deps",
            "--no-cache-dir",
            f"llama-cpp-python=={version.group(1)}",
        ],
        env=env,
        check=True,
    )


def vram_mb() -> float | None:
    if not shutil.which("nvidia-smi"):
        return None
    out = subprocess.run(
        ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    return float(out[0]) if out else None


def residency(report: str) -> dict[str, object]:
    """What llama.cpp says about where the model went."""
    offloaded = re.search(r"offloaded (\d+)/(\d+) layers to GPU", report)
    buffers = re.findall(r"(CUDA\d*) model buffer size\s*=\s*([\d.]+) MiB", report)
    return {
        "layers_on_gpu": int(offloaded.group(1)) if offloaded else 0,
        "layers": int(offloaded.group(2)) if offloaded else None,
        "cuda_model_buffers_mib": {name: float(size) for name, size in buffers},
        # one per GGUF load: the model server must load it once
        "model_loads": len(re.findall(r"llama_model_loader: loaded meta data", report)),
        "gpu_name": next(iter(re.findall(r"Device \d+: (.+?), compute capability", report)), None),
    }


def _print(result: dict[str, Any]) -> None:
    print(
        f"GPU ({result['gpu_name']}): {result['layers_on_gpu']}/{result['layers']} layers "
        f"offloaded, {result['model_loads']} GGUF load(s)"
        if result["layers_on_gpu"]
        else "CPU (this build or machine cannot offload)"
    )
    print(
        f"{'load s':>8}{'judge p50/p99 ms':>18}{'embed p50/p99 ms':>18}{'tokens/s':>10}"
        f"{'VRAM MB':>9}"
    )
    vram = (
        result["vram_loaded_mb"] - result["vram_before_mb"]
        if result["vram_loaded_mb"] is not None and result["vram_before_mb"] is not None
        else float("nan")
    )
    print(
        f"{result['load_s']:>8.2f}"
        f"{result['judge_p50_ms']:>10.1f}/{result['judge_p99_ms']:<7.1f}"
        f"{result['embed_p50_ms']:>10.1f}/{result['embed_p99_ms']:<7.1f}"
        f"{result['tokens_per_s']:>10.1f}{vram:>9.0f}"
    )
    if result["judge_quality"]:
        print(
            f"{'file':<20}{'n':>6}{'judge':>7}{'blend':>7}{'length':>8}{'rnd p95':>8}"
            f"{'judge p50/p99':>15}{'decision p50/p99':>18}{'asked':>7}{'late':>6}"
        )
        for q in result["judge_quality"]:
            print(
                f"{q['file']:<20}{q['records']:>6}{q['judge_apgr']:>7.3f}{q['blend_apgr']:>7.3f}"
                f"{q['length_apgr']:>8.3f}{q['random_apgr_p95']:>8.3f}"
                f"{q['judge_p50_ms']:>8.1f}/{q['judge_p99_ms']:<6.1f}"
                f"{q['decision_p50_ms']:>10.2f}/{q['decision_p99_ms']:<7.2f}"
                f"{q['decisions_asking_judge']:>7}{q['judge_timeouts']:>6}"
            )
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--build", action="store_true")
    parser.add_argument("--model", default="", help="a GGUF file (default: the embedded Gemma)")
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument(
        "--judge-data",
        type=Path,
        action="append",
        help="labelled JSONL to score with the judge (default: the routing data, where present)",
    )
    parser.add_argument("--judge-limit", type=int, default=1000, help="records per file, spread")
    parser.add_argument("--no-judge-quality", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    files = (
        []
        if args.no_judge_quality
        else args.judge_data or [path for path in DEFAULT_JUDGE_DATA if path.is_file()]
    )
    if args.child:
        result = asyncio.run(_measure(args.model, args.n_ctx, files, args.judge_limit))
        print("RESULT " + json.dumps(result), flush=True)
        return
    if args.build:
        build()
    before = vram_mb()
    command = [sys.executable, __file__, "--child", "--model", args.model, "--n-ctx"]
    command += [str(args.n_ctx), "--judge-limit", str(args.judge_limit)]
    command += [arg for path in files for arg in ("--judge-data", str(path))]
    command += ["--no-judge-quality"] if not files else []
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT)
        out, _ = proc.communicate(timeout=1800)
        log.seek(0)
        report = log.read()
    line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        sys.stderr.write(report[-4000:])
        raise SystemExit(f"the measuring process failed ({proc.returncode})")
    result = {**json.loads(line[len("RESULT ") :]), **residency(report)}
    result["vram_before_mb"] = before
    _print(result)


if __name__ == "__main__":
    main()
