"""Train the learned router shipped as weights.json. Reproducible:

    .venv/bin/pip install -e '.[train]'       # scikit-learn: training only, not the daemon
    .venv/bin/python -m proxy.classifier.train --data ../shared/routing-eval/gsm8k.jsonl \\
        --data ../shared/routing-eval/mmlu-dev.jsonl --data proxy/classifier/data/agent-tasks.jsonl

Records whose id hashes to 0 mod 5 are held out (never trained on) and the metrics on them are
printed and stored in the file; so are the means over all five such splits (a split of a few
hundred records moves APGR by ±0.03, the mean much less). data/agent-tasks.jsonl is ours:
coding-agent and chat prompts, labelled by us as fine locally (weak 1) or needing the strong
model (weak 0), so that `auto` says something sensible about what coding agents send. The model: ridge regression on hashed words and word pairs plus
shape features, each kept per kind of prompt (features.py), predicting strong_score -
weak_score (what sending a prompt to the strong model gains), squashed into [0, 1].
"""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path
from typing import Any

import numpy as np

from proxy.classifier.calibration import calibrate
from proxy.classifier.evaluation import fold_of as _fold
from proxy.classifier.evaluation import held_out, pack_hashes, prompt_hash
from proxy.classifier.features import HASH_BITS, HASH_SIZE, KINDS, SHAPE, featurize, kind_of
from proxy.classifier.metrics import evaluate

WEIGHTS = Path(__file__).with_name("weights.json")
SQUASH = 4.0  # sigmoid(SQUASH * predicted gain): ±0.5 gain → 0.12 / 0.88
CLOUD_SHARE = 0.35  # the default threshold sends about this share of prompts to the cloud


Stats = dict[str, tuple[Any, Any]]  # kind → (mean, std) of its shape measures


def _matrix(records: list[dict[str, Any]], stats: Stats | None = None) -> tuple[Any, Stats]:
    """Columns: hashed words, then one block of standardised shapes per kind (zero outside the
    prompt's kind), then one indicator per kind (its bias)."""
    from scipy import sparse

    data: list[float] = []
    indices: list[int] = []
    pointers = [0]
    shapes, kinds = [], []
    for record in records:
        hashed, shape, kind = featurize(record["prompt"])
        indices.extend(hashed)
        data.extend(hashed.values())
        pointers.append(len(indices))
        shapes.append(shape)
        kinds.append(kind)
    shape_arr = np.asarray(shapes, dtype=float).reshape(len(records), len(SHAPE))
    kind_arr = np.asarray(kinds)
    if stats is None:
        stats = {}
        for kind in KINDS:
            rows = shape_arr[kind_arr == kind]
            stats[kind] = (
                (rows.mean(0), rows.std(0) + 1e-6)
                if len(rows)
                else (np.zeros(len(SHAPE)), np.ones(len(SHAPE)))
            )
    blocks = []
    for kind in KINDS:
        mean, std = stats[kind]
        mine = (kind_arr == kind)[:, None]
        blocks.append(np.where(mine, (shape_arr - mean) / std, 0.0))
    indicators = np.stack([(kind_arr == kind).astype(float) for kind in KINDS], axis=1)
    words = sparse.csr_matrix((data, indices, pointers), shape=(len(records), HASH_SIZE))
    dense = sparse.csr_matrix(np.hstack([*blocks, indicators]))
    return sparse.hstack([words, dense]).tocsr(), stats


def _fit(train: list[dict[str, Any]], alpha: float) -> tuple[Any, Any, Stats]:
    from sklearn.linear_model import Ridge

    x_train, stats = _matrix(train)
    gain = np.array([r["strong_score"] - r["weak_score"] for r in train])
    return Ridge(alpha=alpha).fit(x_train, gain), x_train, stats


def _metrics(predicted: Any, test: list[dict[str, Any]]) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    for source in sorted({r["source"].split("/")[0] for r in test}):
        idx = [i for i, r in enumerate(test) if r["source"].split("/")[0] == source]
        m = evaluate(
            [float(predicted[i]) for i in idx],
            [test[i]["weak_score"] for i in idx],
            [test[i]["strong_score"] for i in idx],
        )
        metrics[source] = {
            "held_out": m.count,
            "apgr": round(m.apgr, 4),
            "cpt50": round(m.cpt50, 4),
            "cpt80": round(m.cpt80, 4),
        }
    return metrics


def _calibration(raw: Any, gain: Any, kinds: Any) -> dict[str, tuple[list[float], list[float]]]:
    """Per kind, a monotone map from a raw prediction to the gain seen on records the model did
    not train on (isotonic regression, as knots to interpolate between). Ridge pulls a kind
    with few records (ours) towards its mean; the map pulls its predictions back apart, so that
    one threshold means the same for every kind."""
    from sklearn.isotonic import IsotonicRegression

    maps: dict[str, tuple[list[float], list[float]]] = {}
    for kind in KINDS:
        mine = kinds == kind
        if mine.sum() < 20:
            maps[kind] = ([-1.0, 1.0], [-1.0, 1.0])  # too few records to say: leave it be
            continue
        fitted = IsotonicRegression(out_of_bounds="clip").fit(raw[mine], gain[mine])
        maps[kind] = (
            [round(float(v), 6) for v in fitted.X_thresholds_],
            [round(float(v), 6) for v in fitted.y_thresholds_],
        )
    return maps


def _calibrated(raw: Any, kinds: Any, maps: dict[str, tuple[list[float], list[float]]]) -> Any:
    return np.array([calibrate(float(x), *maps[k]) for x, k in zip(raw, kinds, strict=True)])


def _scored(train: list[dict[str, Any]], alpha: float) -> Any:
    """A router trained as the shipped one is (ridge, then each kind's calibration map fitted
    on 5-fold predictions), on all of `train`: a function from prompts to scores."""
    folds = np.array([_fold(r["id"]) for r in train])
    kinds = np.array([kind_of(r["prompt"]) for r in train])
    gain = np.array([r["strong_score"] - r["weak_score"] for r in train])
    raw = np.zeros(len(train))
    for k in range(5):
        part = [r for r, f in zip(train, folds, strict=True) if f != k]
        fitted, _x, stats = _fit(part, alpha)
        x_test, _ = _matrix([r for r, f in zip(train, folds, strict=True) if f == k], stats)
        raw[folds == k] = x_test @ fitted.coef_ + fitted.intercept_
    lines = _calibration(raw, gain, kinds)
    model, _x, stats = _fit(train, alpha)

    def score(records: list[dict[str, Any]]) -> Any:
        x, _ = _matrix(records, stats)
        record_kinds = np.array([kind_of(r["prompt"]) for r in records])
        return _calibrated(x @ model.coef_ + model.intercept_, record_kinds, lines)

    return score


def leave_one_source_out(paths: list[Path], alpha: float = 10.0) -> list[dict[str, Any]]:
    """For each file, a router trained on the others only, scored on it: what holds on a
    source the router never saw (a split of one file shares its style, its topics and its
    labellers with what was trained on)."""
    from proxy.classifier.evaluation import Record, baselines

    sources = {
        path: [json.loads(line) for line in path.read_text().split("\n") if line.strip()]
        for path in paths
    }
    out = []
    for path, test in sources.items():
        train = [r for other, rows in sources.items() if other != path for r in rows]
        predicted = _scored(train, alpha)(test)
        m = evaluate(
            [float(v) for v in predicted],
            [r["weak_score"] for r in test],
            [r["strong_score"] for r in test],
        )
        base = baselines(
            [Record(str(r["id"]), r["prompt"], r["weak_score"], r["strong_score"]) for r in test]
        )
        out.append(
            {
                "left_out": path.name,
                "trained_on": [p.name for p in sources if p != path],
                "records": m.count,
                "apgr": m.apgr,
                "length_apgr": base.length_apgr,
                "random_apgr_p5": base.random_p5,
                "random_apgr_p95": base.random_p95,
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, action="append", required=True)
    parser.add_argument("--alpha", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument(
        "--leave-one-source-out",
        action="store_true",
        help="Do not write weights: for each --data file, train on the others and score it",
    )
    args = parser.parse_args()
    if args.leave_one_source_out:
        for row in leave_one_source_out(args.data, args.alpha):
            print(json.dumps(row))
        return

    records = [
        json.loads(line)
        for path in args.data
        for line in path.read_text().split("\n")
        if line.strip()
    ]
    folds = np.array([_fold(r["id"]) for r in records])
    kinds = np.array([kind_of(r["prompt"]) for r in records])
    gain = np.array([r["strong_score"] - r["weak_score"] for r in records])
    raw = np.zeros(len(records))  # each record predicted by the model that did not see it
    for k in range(5):
        train = [r for r, f in zip(records, folds, strict=True) if f != k]
        test = [r for r, f in zip(records, folds, strict=True) if f == k]
        fitted, x_train, stats = _fit(train, args.alpha)
        x_test, _ = _matrix(test, stats)
        raw[folds == k] = x_test @ fitted.coef_ + fitted.intercept_
        if k == 0:  # the model that ships: trained on what held_out() leaves
            model, x_train_shipped, stats_shipped = fitted, x_train, stats
    lines = _calibration(raw[folds != 0], gain[folds != 0], kinds[folds != 0])
    predicted = _calibrated(raw, kinds, lines)
    splits = [
        _metrics(predicted[folds == k], [r for r, f in zip(records, folds, strict=True) if f == k])
        for k in range(5)
    ]
    metrics = splits[0]
    for source, m in metrics.items():
        mean_apgr = float(np.mean([split[source]["apgr"] for split in splits]))
        m["apgr_mean_of_5_splits"] = round(mean_apgr, 4)
        print(
            f"{source:>8}: held out {m['held_out']:5d}  APGR {m['apgr']:.3f}  CPT(50%) {m['cpt50']:.3f}"
            f"  CPT(80%) {m['cpt80']:.3f}  |  APGR over 5 splits {mean_apgr:.3f}"
        )
    x_train, stats = x_train_shipped, stats_shipped
    train_kinds = kinds[folds != 0]
    train_gain = _calibrated(x_train @ model.coef_ + model.intercept_, train_kinds, lines)

    train_scores = 1 / (1 + np.exp(-SQUASH * train_gain))
    coef = model.coef_.astype(np.float32)
    bias_at = HASH_SIZE + len(KINDS) * len(SHAPE)
    payload = {
        "version": 3,
        "kind": "ridge-gain-hashed-words-per-prompt-kind",
        "hash_bits": HASH_BITS,
        "squash": SQUASH,
        "intercept": float(model.intercept_),
        "shape_features": list(SHAPE),
        "kinds": {
            kind: {
                "bias": round(float(coef[bias_at + k]), 6),
                "calibration": {"raw": lines[kind][0], "gain": lines[kind][1]},
                "mean": [round(float(v), 6) for v in stats[kind][0]],
                "std": [round(float(v), 6) for v in stats[kind][1]],
                "weights": [
                    round(float(v), 6)
                    for v in coef[HASH_SIZE + k * len(SHAPE) : HASH_SIZE + (k + 1) * len(SHAPE)]
                ],
            }
            for k, kind in enumerate(KINDS)
        },
        "word_weights_f16_b64": base64.b64encode(
            coef[:HASH_SIZE].astype(np.float16).tobytes()
        ).decode(),
        "threshold": round(float(np.quantile(train_scores, 1 - CLOUD_SHARE)), 4),
        "trained_on": [p.name for p in args.data],
        "train_records": sum(not held_out(r["id"]) for r in records),
        "train_prompt_hashes_b64": pack_hashes(
            sorted({prompt_hash(r["prompt"]) for r in records if not held_out(r["id"])})
        ),
        "held_out_metrics": metrics,
    }
    args.out.write_text(json.dumps(payload, indent=1) + "\n")
    print(
        f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB), threshold {payload['threshold']}"
    )


if __name__ == "__main__":
    main()
