"""What `brainrouter serve` says at start: which upstreams and reviewers are configured and what
is missing, in words a user can act on (no key is ever printed, only whether it is set)."""

from __future__ import annotations

import os

from mcp_server.config import Settings
from review.reviewer import Reviewers


def _key(env: str | None) -> str:
    if not env:
        return "no key"
    return f"key from ${env}" if os.environ.get(env) else f"key MISSING (set ${env})"


def summary(settings: Settings, embedded_local: bool, reviewers: Reviewers) -> list[str]:
    proxy = settings.proxy
    lines = []
    if proxy.cloud.base_url:
        lines.append(
            f"proxy cloud: {proxy.cloud.base_url} ({proxy.cloud.protocol}, model "
            f"{proxy.cloud.model or 'UNSET: set proxy.cloud.model'}, {_key(proxy.cloud.api_key_env)})"
        )
    else:
        lines.append("proxy cloud: not configured (set proxy.cloud.base_url and proxy.cloud.model)")
    if embedded_local:
        lines.append("proxy local: the embedded model (set proxy.local.base_url for a real server)")
    elif proxy.local.base_url:
        lines.append(f"proxy local: {proxy.local.base_url} (model {proxy.local.model or 'UNSET'})")
    else:
        lines.append("proxy local: not configured (set proxy.local.base_url)")
    if proxy.classifier.judge and proxy.model.enabled:
        lines.append(judge_note(settings))
    available = reviewers.available()
    mode = settings.review.mode
    if available:
        lines.append(
            f"review: mode {mode}, through the proxy's {' and '.join(available)} upstream(s)"
        )
    if not available or (mode != "auto" and mode not in available):
        lines.append(
            "request_review will escalate every round to a human: "
            + reviewers.missing(None if mode == "auto" else mode)
        )
    return lines


def judge_note(settings: Settings) -> str:
    """The model judge is for GPUs: on a CPU it answers after its time limit (bench/gpu.py)."""
    import llama_cpp

    classifier, model = settings.proxy.classifier, settings.proxy.model
    if llama_cpp.llama_supports_gpu_offload() and model.n_gpu_layers != 0:
        return "auto: the model judge is on (on the GPU: a judgement takes a few milliseconds)"
    return (
        "auto: the model judge is on but runs on the CPU, where a judgement takes longer than "
        f"proxy.classifier.timeout_ms ({classifier.timeout_ms:g} ms) and the default decides: "
        "turn proxy.classifier.judge off, or build llama-cpp-python for a GPU"
    )
