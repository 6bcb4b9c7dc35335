"""The model server on an NVIDIA GPU: is the model resident there, and how fast is it.

    .venv/bin/python bench/gpu.py --build     # once: llama-cpp-python rebuilt with CUDA
    .venv/bin/python bench/gpu.py [--model FILE.gguf] [--n-ctx 4096]

--build reinstalls the pinned llama-cpp-python into this interpreter's environment with
CMAKE_ARGS=-DGGML_CUDA=on (needs nvcc; several minutes). Then, in a fresh process: whether the
build can offload (llama_supports_gpu_offload), llama.cpp's own report of the load (how many
layers went to the GPU, the CUDA buffers), VRAM used (nvidia-smi) before and after, the load
time, judge and embedding latency (p50 of 20 after a warm-up), and a completion's tokens/s.
Without a GPU it measures the CPU build the same way and says so. Prints a table, then JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import asyncio, json, statistics, sys, time
from pathlib import Path
import llama_cpp
from proxy.model_server import ModelServer
from proxy.settings import ModelSettings

path, n_ctx = sys.argv[1], int(sys.argv[2])
server = ModelServer(ModelSettings(
    path=Path(path) if path else None, n_ctx=n_ctx, n_gpu_layers=-1, verbose=True  # its load report
))

async def main():
    started = time.perf_counter()
    await server.ensure_loaded()
    load_s = time.perf_counter() - started
    laps = {}
    for name, call in (
        ("judge", lambda: server.choose("Is this task hard? Answer yes or no.\nAnswer:", [" yes", " no"])),
        ("embed", lambda: server.embed("Refactor the scheduler to use a lock-free queue.")),
    ):
        await call()
        times = []
        for _ in range(20):
            t = time.perf_counter(); await call(); times.append(time.perf_counter() - t)
        laps[name] = statistics.median(times) * 1000
    t = time.perf_counter()
    answer = await server.complete(
        [{"role": "user", "content": "Write a short story about a robot learning to paint."}],
        max_tokens=128, temperature=0.0,
    )
    elapsed = time.perf_counter() - t
    tokens = int(answer["usage"]["completion_tokens"])
    return {"offload_supported": bool(llama_cpp.llama_supports_gpu_offload()),
            "load_s": load_s, "judge_ms": laps["judge"], "embed_ms": laps["embed"],
            "completion_tokens": tokens, "tokens_per_s": tokens / elapsed}

print("RESULT " + json.dumps(asyncio.run(main())), flush=True)
server.close()
"""


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
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--build", action="store_true")
    parser.add_argument("--model", default="", help="a GGUF file (default: the embedded Gemma)")
    parser.add_argument("--n-ctx", type=int, default=4096)
    args = parser.parse_args()
    if args.build:
        build()
    before = vram_mb()
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, args.model, str(args.n_ctx)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            cwd=ROOT,
        )
        out, _ = proc.communicate(timeout=900)
        log.seek(0)
        report = log.read()
    line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        sys.stderr.write(report[-4000:])
        raise SystemExit(f"the measuring process failed ({proc.returncode})")
    result = {**json.loads(line[len("RESULT ") :]), **residency(report)}
    result["vram_before_mb"], result["vram_after_mb"] = before, vram_mb()
    where = (
        f"GPU: {result['layers_on_gpu']}/{result['layers']} layers offloaded"
        if result["layers_on_gpu"]
        else "CPU (this build or machine cannot offload)"
    )
    print(where)
    print(f"{'load s':>8}{'judge ms':>10}{'embed ms':>10}{'tokens/s':>10}")
    print(
        f"{result['load_s']:>8.2f}{result['judge_ms']:>10.1f}{result['embed_ms']:>10.1f}"
        f"{result['tokens_per_s']:>10.1f}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
