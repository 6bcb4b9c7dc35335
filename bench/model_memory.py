"""What the one loaded model costs: memory of the model server (one load of the GGUF, a
context per kind of work) against the three `llama_cpp.Llama` objects it made before (judge,
embeddings, chat: the weights loaded three times), and how fast its short work answers once
loaded; and the reference of issue #13's target (at most a third above the model and one
context).

    .venv/bin/python bench/model_memory.py [--model FILE.gguf] [--n-ctx 4096] [--gpu-layers -1]

Each way runs in a fresh process: RSS (and VmHWM, the peak) before and after loading, then
judge and embedding latency p50 over 20 calls. On a GPU build, VRAM used by each way is read
from nvidia-smi when it is there. Prints a table, then one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from gpu import vram_mb  # bench/gpu.py: run as a script, bench/ is on the path

_CHILD = r"""
import asyncio, json, statistics, sys, time
from pathlib import Path

def rss():
    fields = dict(l.split(":", 1) for l in Path("/proc/self/status").read_text().splitlines() if ":" in l)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024

way, path, n_ctx, gpu_layers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
import llama_cpp  # imported before the baseline: the library itself is not the model
from proxy.model_server import ModelServer, embedded_model_path
from proxy.settings import ModelSettings
path = Path(path) if path else embedded_model_path()
before = rss()[0]
started = time.perf_counter()
if way == "single":  # the reference: the model and one context, nothing else
    chat = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_gpu_layers=gpu_layers, verbose=False)
    load_s = time.perf_counter() - started
    chat.create_chat_completion(messages=[{"role": "user", "content": "hi"}], max_tokens=4)
    laps = {"judge": float("nan"), "embed": float("nan")}
elif way == "three":
    common = dict(model_path=str(path), n_gpu_layers=gpu_layers, verbose=False)
    judge = llama_cpp.Llama(n_ctx=min(2048, n_ctx), **common)
    embed = llama_cpp.Llama(n_ctx=min(2048, n_ctx), embedding=True,
                            pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN, **common)
    chat = llama_cpp.Llama(n_ctx=n_ctx, **common)
    load_s = time.perf_counter() - started
    def choose(): judge.eval(judge.tokenize(b"Is the sky blue? Answer:", add_bos=True)); judge.reset()
    def embedding(): embed.embed("The cat sat on the mat.")
    timings = {"judge": choose, "embed": embedding}
    laps = {}
    for name, fn in timings.items():
        fn()
        laps[name] = statistics.median([(lambda t: (fn(), time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(20)]) * 1000
else:
    server = ModelServer(ModelSettings(path=path, n_ctx=n_ctx, n_gpu_layers=gpu_layers))
    async def main():
        await server.ensure_loaded()
        load = time.perf_counter() - started
        laps = {}
        for name, call in (("judge", lambda: server.choose("Is the sky blue? Answer:", [" yes", " no"])),
                           ("embed", lambda: server.embed("The cat sat on the mat."))):
            await call()
            times = []
            for _ in range(20):
                t = time.perf_counter(); await call(); times.append(time.perf_counter() - t)
            laps[name] = statistics.median(times) * 1000
        return load, laps
    load_s, laps = asyncio.run(main())
after, peak = rss()
print(json.dumps({"way": way, "rss_before_mb": before, "rss_after_mb": after, "peak_mb": peak,
                  "load_s": load_s, "judge_ms": laps["judge"], "embed_ms": laps["embed"]}))
"""


def run_way(way: str, model: str, n_ctx: int, gpu_layers: int) -> dict[str, float]:
    vram_before = vram_mb()
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, way, model, str(n_ctx), str(gpu_layers)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # llama.cpp's own notes on loading
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    out, _ = proc.communicate(timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"{way}: the measuring process failed ({proc.returncode})")
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    if vram_before is not None:
        result["vram_before_mb"] = vram_before
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="", help="a GGUF file (default: the embedded Gemma)")
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--gpu-layers", type=int, default=-1)
    args = parser.parse_args()
    ways = ("single", "three", "one")
    rows = {way: run_way(way, args.model, args.n_ctx, args.gpu_layers) for way in ways}
    names = {
        "single": "model + one context",
        "three": "three Llama objects",
        "one": "model server (one load)",
    }
    print(
        f"{'':<26}{'RSS MB':>9}{'added':>8}{'peak':>8}{'load s':>8}{'judge ms':>10}{'embed ms':>10}"
    )
    for way, row in rows.items():
        print(
            f"{names[way]:<26}{row['rss_after_mb']:>9.0f}"
            f"{row['rss_after_mb'] - row['rss_before_mb']:>8.0f}{row['peak_mb']:>8.0f}"
            f"{row['load_s']:>8.2f}{row['judge_ms']:>10.1f}{row['embed_ms']:>10.1f}"
        )

    def added(way: str) -> float:
        return rows[way]["rss_after_mb"] - rows[way]["rss_before_mb"]

    # issue #13's target: the model server at most a third above the model and one context
    ratio = added("one") / added("single")
    print(f"model server / (model + one context): {ratio:.2f} (target ≤ 1.33)")
    print(json.dumps({**rows, "ratio_to_single": ratio}))


if __name__ == "__main__":
    main()
