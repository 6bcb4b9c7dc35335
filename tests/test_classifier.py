"""The router behind auto: the length scorer (default) and the learned one (shipped weights),
the cache per conversation, the judge stage, timeouts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

import pytest

from proxy.classifier import (
    CascadeClassifier,
    LengthScorer,
    LinearScorer,
    WeightsError,
    build_classifier,
)
from proxy.classifier.evaluation import held_out, load_records, run
from proxy.routing import Classification, Features, RuleClassifier
from proxy.settings import ClassifierSettings, ProxySettings

EVAL = Path(__file__).resolve().parents[2] / "shared" / "routing-eval"
AGENT_TASKS = (
    Path(__file__).resolve().parents[1] / "proxy" / "classifier" / "data" / "agent-tasks.jsonl"
)


def _features(text: str, key: str | None = None) -> Features:
    return Features(
        latest_user_text=text,
        conversation_key=key,
    )


async def _trivial_and_hard(classifier: CascadeClassifier) -> tuple[Classification, ...]:
    """A one-word fix and a concurrency bug across two packages, as a coding agent sends them."""
    trivial = _features("Fix the typo in README.md: recieve -> receive")
    hard = _features(
        "Our job scheduler deadlocks under load when two workers acquire the same lease. "
        "Find the lock-order inversion across scheduler/ and worker/ and fix it."
    )
    return await classifier.classify(trivial), await classifier.classify(hard)


def test_scores_are_probabilities_and_hard_prompts_score_higher() -> None:
    scorer = LinearScorer()
    easy = scorer.score("What is 2 + 3?")
    hard = scorer.score(
        "A train leaves at 3:15 pm travelling 64 km/h; a second leaves 45 minutes later at 80 km/h. "
        "The first stops for 12 minutes every 100 km. After how many km, to two decimals, does the "
        "second catch up, and what percentage of the distance had the first covered by 5 pm? "
        "Give the total cost if fuel is $1.85 per litre at 7.2 litres per 100 km."
    )
    assert 0 < easy < 1 and 0 < hard < 1
    assert hard > easy


async def test_coding_agent_tasks_the_router_never_saw_are_mostly_routed_as_we_labelled_them() -> (
    None
):
    """data/agent-tasks.jsonl: our own labels of what a coding agent asks for. On its held-out
    part, trivial edits and chat stay local and hard engineering goes to the cloud."""
    classifier = CascadeClassifier(ClassifierSettings(kind="learned", cache_size=0))
    records = [r for r in load_records(AGENT_TASKS) if held_out(r.id)]
    assert len(records) > 40
    agree = 0
    for record in records:
        decision = await classifier.classify(_features(record.prompt))
        agree += decision.route == ("cloud" if record.weak_score == 0 else "local")
    assert agree / len(records) >= 0.75
    trivial, hard = await _trivial_and_hard(classifier)
    assert (trivial.route, hard.route) == ("local", "cloud")


async def test_decisions_are_cached_per_conversation() -> None:
    scorer = LinearScorer()
    first_text, other_text = "Name a color.", "What is 2+3?"
    between = (scorer.score(first_text) + scorer.score(other_text)) / 2
    classifier = CascadeClassifier(ClassifierSettings(kind="learned", threshold=between))
    first = await classifier.classify(_features(first_text, key="session:1"))
    second = await classifier.classify(_features(other_text, key="session:2"))
    assert first.route != second.route  # the two texts alone would be routed differently
    later = await classifier.classify(_features(other_text, key="session:1"))
    assert later.route == first.route and "cached for this conversation" in later.reason
    assert "cached" not in second.reason


async def test_the_judge_is_asked_only_near_the_threshold() -> None:
    asked: list[str] = []

    async def judge(text: str) -> float:
        asked.append(text)
        return 1.0

    scorer_score = LinearScorer().score("Name a color.")
    near = ClassifierSettings(kind="learned", threshold=scorer_score, judge=True, judge_margin=0.01)
    result = await CascadeClassifier(near, judge).classify(_features("Name a color."))
    assert asked == ["Name a color."] and result.route == "cloud" and "judge" in result.reason

    far = ClassifierSettings(
        kind="learned", threshold=min(0.99, scorer_score + 0.5), judge=True, judge_margin=0.01
    )
    result = await CascadeClassifier(far, judge).classify(_features("Name a color."))
    assert len(asked) == 1 and result.route == "local"


@pytest.mark.parametrize("default", ["cloud", "local"])
async def test_a_slow_or_failing_judge_is_cut_off_and_the_default_decides(
    default: Literal["cloud", "local"],
) -> None:
    async def slow_judge(text: str) -> float:
        await asyncio.sleep(5)
        return 1.0

    async def broken_judge(text: str) -> float:
        raise RuntimeError("model failed to load")

    score = LinearScorer().score("Name a color.")
    # Stage 1 alone would say local (the threshold is just above its score).
    settings = ClassifierSettings(
        kind="learned",
        threshold=score + 0.001,
        judge=True,
        judge_margin=0.1,
        timeout_ms=30,
        default=default,
    )
    result = await CascadeClassifier(settings, slow_judge).classify(_features("Name a color."))
    assert result.route == default and "judge timed out" in result.reason
    result = await CascadeClassifier(settings, broken_judge).classify(_features("Name a color."))
    assert result.route == default and "judge unavailable" in result.reason


def test_unusable_weights_fall_back_to_the_rules(tmp_path: Path) -> None:
    bad = tmp_path / "weights.json"
    bad.write_text('{"hash_bits": 16}')
    with pytest.raises(WeightsError, match="cannot load router weights"):
        LinearScorer(bad)
    settings = ProxySettings.model_validate(
        {"classifier": {"kind": "learned", "weights": str(bad)}}
    )
    assert isinstance(build_classifier(settings), RuleClassifier)
    default = build_classifier(ProxySettings())
    assert isinstance(default, CascadeClassifier) and isinstance(default.scorer, LengthScorer)


def test_weights_made_for_other_features_are_refused_with_the_fix(tmp_path: Path) -> None:
    """A weights file from an older version would score garbage; it is refused at load."""
    import json

    from proxy.classifier import WEIGHTS

    data = json.loads(WEIGHTS.read_text())
    data["shape_features"] = data["shape_features"][:-1]
    old = tmp_path / "weights.json"
    old.write_text(json.dumps(data))
    with pytest.raises(WeightsError, match=r"other features.*retrain"):
        LinearScorer(old)


@pytest.mark.skipif(not EVAL.is_dir(), reason="../shared/routing-eval is not beside the checkout")
async def test_held_out_quality_beats_the_length_baseline(tmp_path: Path) -> None:
    """On held-out records of the sources it trained on, the learned scorer ranks better than
    prompt length does (on sources it never saw it does not: bench/router_signals.py)."""
    classifier = CascadeClassifier(ClassifierSettings(kind="learned"))
    for name in ("gsm8k.jsonl", "mmlu-dev.jsonl"):
        records = [r for r in load_records(EVAL / name) if held_out(r.id)]
        learned = await run(classifier, records)
        length = await run("length", records)
        assert learned.metrics.apgr > length.metrics.apgr + 0.02, name


def test_the_length_scorer_reads_length_against_the_kinds_usual_length() -> None:
    scorer = LengthScorer()
    task = "x " * (LengthScorer.CENTERS["task"] // 2)
    assert scorer.rate(task)[1] == "task" and abs(scorer.score(task) - 0.5) < 0.02
    twice = "x " * LengthScorer.CENTERS["task"]
    assert abs(scorer.score(twice) - 0.8) < 0.02
    # A multiple-choice question of the same length is short for its kind.
    choice = "Which is right?\nA. one\nB. two\nC. three\nD. four\n" + "x" * 60
    assert scorer.rate(choice)[1] == "choice" and scorer.score(choice) < scorer.score(twice)


async def test_the_default_router_keeps_small_edits_local_and_sends_big_problems_out() -> None:
    classifier = CascadeClassifier(ClassifierSettings(cache_size=0))
    trivial, hard = await _trivial_and_hard(classifier)
    assert (trivial.route, hard.route) == ("local", "cloud")
    assert trivial.reason.startswith("length router (task prompt)")


def test_the_length_centers_are_the_datas_65th_percentiles() -> None:
    """CENTERS come from the routing data: each kind's 65th percentile of prompt length."""
    import statistics

    sources = {"task": AGENT_TASKS, "math": EVAL / "gsm8k.jsonl", "choice": EVAL / "mmlu-dev.jsonl"}
    for kind, path in sources.items():
        if not path.exists():
            continue  # ../shared/routing-eval is not beside this checkout
        lengths = [len(r.prompt) for r in load_records(path)]
        p65 = statistics.quantiles(lengths, n=100)[64]
        assert abs(p65 - LengthScorer.CENTERS[kind]) <= 0.03 * p65, (kind, p65)
