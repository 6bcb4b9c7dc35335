"""RouteLLM's router metrics: APGR and CPT(x%), from per-prompt scores and labels.

A router scores each prompt (higher = more in need of the strong model). Sending the top-k
to the strong model, for every k, traces quality against the strong-call share; APGR is the
area under that curve above the weak model's accuracy, as a fraction of the gap between the
two models; CPT(x) is the smallest strong-call share that recovers x of that gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class RouterMetrics:
    count: int
    weak_accuracy: float
    strong_accuracy: float
    apgr: float
    cpt50: float
    cpt80: float


def quality_curve(
    scores: Sequence[float], weak: Sequence[float], strong: Sequence[float]
) -> list[float]:
    """quality[k] = mean score when the k highest-scored prompts go to the strong model.
    Ties keep the input order, so a constant score gives the same curve every time."""
    n = len(scores)
    if not (n == len(weak) == len(strong)) or n == 0:
        raise ValueError("scores, weak and strong must be non-empty and of equal length")
    order = sorted(range(n), key=lambda i: (-scores[i], i))
    total = sum(weak)
    curve = [total / n]
    for i in order:
        total += strong[i] - weak[i]
        curve.append(total / n)
    return curve


def evaluate(
    scores: Sequence[float], weak: Sequence[float], strong: Sequence[float]
) -> RouterMetrics:
    n = len(scores)
    curve = quality_curve(scores, weak, strong)
    weak_acc, strong_acc = curve[0], sum(strong) / n
    gap = strong_acc - weak_acc
    area = sum((curve[k] + curve[k + 1]) / 2 for k in range(n)) / n  # trapezoids over [0, 1]

    def cpt(fraction: float) -> float:
        target = weak_acc + fraction * gap
        for k, quality in enumerate(curve):
            if quality >= target - 1e-12:
                return k / n
        return 1.0

    return RouterMetrics(
        count=n,
        weak_accuracy=weak_acc,
        strong_accuracy=strong_acc,
        apgr=(area - weak_acc) / gap if gap else float("nan"),
        cpt50=cpt(0.5),
        cpt80=cpt(0.8),
    )
