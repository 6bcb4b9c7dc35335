"""RouteLLM's metrics, on cases small enough to work out by hand."""

from __future__ import annotations

import random

import pytest

from proxy.classifier.metrics import evaluate, quality_curve

WEAK = [1.0, 0.0, 0.0, 1.0]
STRONG = [1.0, 1.0, 1.0, 0.0]  # sending 1 and 2 to the strong model gains; sending 3 loses


def test_a_perfect_ranking() -> None:
    m = evaluate([0.5, 0.9, 0.8, 0.1], WEAK, STRONG)
    assert quality_curve([0.5, 0.9, 0.8, 0.1], WEAK, STRONG) == [0.5, 0.75, 1.0, 1.0, 0.75]
    assert (m.weak_accuracy, m.strong_accuracy) == (0.5, 0.75)
    assert m.apgr == pytest.approx(
        1.375
    )  # above 1: the weak model is right where the strong is not
    assert (m.cpt50, m.cpt80) == (0.25, 0.25)


def test_the_worst_ranking() -> None:
    m = evaluate([0.5, 0.1, 0.2, 0.9], WEAK, STRONG)
    assert m.apgr == pytest.approx(-0.375)
    assert m.cpt80 == 1.0


def test_a_random_router_scores_about_a_half() -> None:
    rng = random.Random(1)
    weak = [float(rng.random() < 0.6) for _ in range(4000)]
    strong = [max(w, float(rng.random() < 0.7)) for w in weak]
    assert evaluate([rng.random() for _ in weak], weak, strong).apgr == pytest.approx(0.5, abs=0.03)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="equal length"):
        evaluate([0.1], [1.0, 0.0], [1.0, 1.0])
