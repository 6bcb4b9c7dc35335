"""The router behind `model=auto`: a cascade of cheap stages, cached per conversation.

Stage 1 reads the user's latest words as one kind of prompt (features.kind_of) and scores them:
by their length against that kind's usual length (`kind: length`, the default: what held up
on sources the router never saw), or with that kind's linear model over hashed words and shape
features, calibrated per kind (`kind: learned`, weights.json from train.py). Both take a
fraction of a millisecond. Where the score sits close to the threshold and a judge is
configured (the shared GGUF model), stage 2 asks it, under the hard timeout. Any failure or
timeout gives the configured default decision, never an error.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
import struct
import time
from array import array
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from cachetools import TTLCache

from proxy.classifier.calibration import calibrate
from proxy.classifier.features import HASH_BITS, KINDS, SHAPE, Kind, clip, featurize, kind_of
from proxy.routing import Classification, Classifier, Features, Route, RuleClassifier
from proxy.settings import ClassifierSettings, ProxySettings

log = logging.getLogger("brainrouter.classifier")
WEIGHTS = Path(__file__).with_name("weights.json")
Judge = Callable[[str], Awaitable[float]]  # prompt → probability that it needs the cloud


class WeightsError(ValueError):
    pass


@dataclass(frozen=True)
class _ShapeWeights:
    """One kind's share of the model: its bias, its weights over standardised shapes, and the
    map that calibrates its raw prediction (calibration.py)."""

    bias: float
    mean: list[float]
    std: list[float]
    weights: list[float]
    knots_raw: list[float]
    knots_gain: list[float]


class LinearScorer:
    """Stage 1: the shipped (or configured) weights.json. Plain Python on purpose: a prompt has
    a few hundred features, and numpy would cost the daemon some 15 MB of memory."""

    name = "learned router"

    def __init__(self, path: Path = WEIGHTS) -> None:
        try:
            data = json.loads(path.read_text())
            if data.get("hash_bits") != HASH_BITS:
                raise WeightsError(f"{path}: hash_bits {data.get('hash_bits')} != {HASH_BITS}")
            if data.get("shape_features") != list(SHAPE) or sorted(data["kinds"]) != sorted(KINDS):
                raise WeightsError(
                    f"{path}: made for other features than this version computes; retrain it"
                    " with python -m proxy.classifier.train"
                )
            packed = base64.b64decode(data["word_weights_f16_b64"])
            if len(packed) != 2 << HASH_BITS:
                raise WeightsError(f"{path}: expected {1 << HASH_BITS} word weights")
            self.words = array("f", struct.unpack(f"<{len(packed) // 2}e", packed))
            self.kinds: dict[str, _ShapeWeights] = {}
            for kind, block in data["kinds"].items():
                weights = _ShapeWeights(
                    float(block["bias"]),
                    [float(v) for v in block["mean"]],
                    [float(v) for v in block["std"]],
                    [float(v) for v in block["weights"]],
                    [float(v) for v in block["calibration"]["raw"]],
                    [float(v) for v in block["calibration"]["gain"]],
                )
                knots = weights.knots_raw
                if len(knots) != len(weights.knots_gain) or not knots or knots != sorted(knots):
                    raise WeightsError(f"{path}: kind {kind} has a broken calibration map")
                if not len(weights.mean) == len(weights.std) == len(weights.weights) == len(SHAPE):
                    raise WeightsError(f"{path}: kind {kind} needs {len(SHAPE)} shape weights")
                self.kinds[kind] = weights
            self.intercept = float(data["intercept"])
            self.squash = float(data.get("squash", 1.0))
            self.threshold = float(data["threshold"])
            self.trained_on = [str(name) for name in data.get("trained_on", [])]
            # Hashes of the prompts it was trained on (evaluation.prompt_hash): `eval` flags
            # a file that overlaps them. Kept packed; unpacked only when asked.
            self._train_hashes = str(data.get("train_prompt_hashes_b64", ""))
        except (OSError, ValueError, KeyError, TypeError, AttributeError, struct.error) as exc:
            raise WeightsError(f"cannot load router weights from {path}: {exc}") from exc

    def rate(self, text: str) -> tuple[float, Kind]:
        """The score in [0, 1] and the kind of prompt it was read as."""
        hashed, shape, kind = featurize(text)
        words = self.words
        block = self.kinds[kind]
        value = self.intercept + block.bias
        value += sum(words[index] * weight for index, weight in hashed.items())
        value += sum(
            (x - m) / s * w
            for x, m, s, w in zip(shape, block.mean, block.std, block.weights, strict=True)
        )
        gain = calibrate(value, block.knots_raw, block.knots_gain)
        return 1.0 / (1.0 + math.exp(-self.squash * gain)), kind

    def score(self, text: str) -> float:
        return self.rate(text)[0]

    def trained_hashes(self) -> frozenset[int]:
        from proxy.classifier.evaluation import unpack_hashes

        return unpack_hashes(self._train_hashes)


class LengthScorer:
    """Stage 1 by length: the longer a prompt is than its kind's usual length, the more it
    needs the strong model. Measured with whole sources held out (bench/router_signals.py),
    this ranks unseen work better than the learned scorer, whose word weights learn the
    sources they saw; an independent evaluation on sources we do not have agreed."""

    name = "length router"
    # Per kind, the 65th percentile of prompt length in characters in the routing data
    # (choice: mmlu-dev, math: gsm8k, task: data/agent-tasks.jsonl): about 35% of each kind
    # scores over the 0.5 threshold, as the learned router's calibration aimed for.
    CENTERS: ClassVar[dict[str, int]] = {"choice": 434, "math": 257, "task": 121}
    SLOPE = 2.0  # per unit of log length: a prompt twice its kind's usual length scores 0.8
    threshold = 0.5

    def rate(self, text: str) -> tuple[float, Kind]:
        kind = kind_of(text)
        over = math.log1p(len(clip(text))) - math.log1p(self.CENTERS[kind])
        return 1.0 / (1.0 + math.exp(-self.SLOPE * over)), kind

    def score(self, text: str) -> float:
        return self.rate(text)[0]

    def trained_hashes(self) -> frozenset[int]:
        return frozenset()  # nothing learned from prompts


Scorer = LinearScorer | LengthScorer


class CascadeClassifier:
    """The cascade: a stage-1 scorer (LengthScorer or LinearScorer), the judge near the
    threshold, a cache per conversation."""

    def __init__(self, settings: ClassifierSettings, judge: Judge | None = None) -> None:
        self.settings = settings
        self.scorer: Scorer = (
            LinearScorer(settings.weights or WEIGHTS)
            if settings.kind == "learned"
            else LengthScorer()
        )
        self.threshold = (
            settings.threshold if settings.threshold is not None else self.scorer.threshold
        )
        self.judge = judge
        # Per conversation; least recently used out first, gone after cache_ttl_s (none if 0).
        self._cache: TTLCache[str, Classification] | None = (
            TTLCache(maxsize=settings.cache_size, ttl=settings.cache_ttl_s)
            if settings.cache_size
            else None
        )
        self.stage_ms: dict[str, deque[float]] = {
            "features": deque(maxlen=1000),
            "judge": deque(maxlen=1000),
        }

    def _cached(self, key: str | None) -> Classification | None:
        if key is None or self._cache is None or (result := self._cache.get(key)) is None:
            return None
        return Classification(
            result.route, result.score, f"{result.reason} (cached for this conversation)"
        )

    def _remember(self, key: str | None, result: Classification) -> None:
        if key is not None and self._cache is not None:
            self._cache[key] = result

    def _decide(self, score: float, reason: str) -> Classification:
        route: Route = "cloud" if score >= self.threshold else "local"
        return Classification(
            route, score, f"{reason}: score {score:.2f} vs threshold {self.threshold:.2f}"
        )

    async def classify(self, features: Features) -> Classification:
        cached = self._cached(features.conversation_key)
        if cached is not None:
            return cached
        started = time.perf_counter()
        try:
            score, kind = self.scorer.rate(features.latest_user_text)
        except Exception as exc:
            log.exception("classifier failed")
            return Classification(
                self.settings.default, 0.5, f"classifier failed ({exc}): default decision"
            )
        spent_ms = (time.perf_counter() - started) * 1000
        self.stage_ms["features"].append(spent_ms)
        result = self._decide(score, f"{self.scorer.name} ({kind} prompt)")
        if self.judge is not None and abs(score - self.threshold) < self.settings.judge_margin:
            result = await self._ask_judge(features.latest_user_text, score, result, spent_ms)
        self._remember(features.conversation_key, result)
        return result

    async def _ask_judge(
        self, text: str, score: float, first: Classification, spent_ms: float
    ) -> Classification:
        """Stage 2, within what is left of the time limit; past it, the configured default."""
        assert self.judge is not None
        started = time.perf_counter()
        try:
            async with asyncio.timeout(max(0.0, self.settings.timeout_ms - spent_ms) / 1000):
                judged = await self.judge(text)
        except TimeoutError:
            # SPEC M2: on a timeout or an error, the configured default decides.
            return Classification(
                self.settings.default, first.score, f"{first.reason}; judge timed out: default"
            )
        except Exception as exc:
            return Classification(
                self.settings.default,
                first.score,
                f"{first.reason}; judge unavailable ({exc}): default",
            )
        self.stage_ms["judge"].append((time.perf_counter() - started) * 1000)
        return self._decide((score + judged) / 2, f"{self.scorer.name} + model judge")


def build_classifier(settings: ProxySettings, judge: Judge | None = None) -> Classifier:
    """The cascade (length or learned scorer) unless configured otherwise; the rules if the
    learned scorer's weights are unusable."""
    if settings.classifier.kind in ("length", "learned"):
        try:
            return CascadeClassifier(
                settings.classifier, judge if settings.classifier.judge else None
            )
        except WeightsError as exc:
            log.error("%s; auto routing uses the rules instead", exc)
    return RuleClassifier(settings.auto)
