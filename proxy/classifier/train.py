"""Train the learned router shipped as weights.json. Reproducible:

    .venv/bin/pip install scikit-learn        # training only; the daemon does not need it
    .venv/bin/python -m proxy.classifier.train --data ../shared/routing-eval/gsm8k.jsonl \\
        --data ../shared/routing-eval/mmlu-dev.jsonl

Records whose id hashes to 0 mod 5 are held out (never trained on) and the metrics on them are
printed and stored in the file. The model: ridge regression on hashed words and word pairs plus
shape features, each kept per kind of prompt (features.py), predicting strong_score -
weak_score (what sending a prompt to the strong model gains), squashed into [0, 1].
"""

from __future__ import annotations

import argparse
import base64
import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from proxy.classifier.features import DENSE, HASH_BITS, HASH_SIZE, featurize
from proxy.classifier.metrics import evaluate

WEIGHTS = Path(__file__).with_name("weights.json")
SQUASH = 4.0  # sigmoid(SQUASH * predicted gain): ±0.5 gain → 0.12 / 0.88
CLOUD_SHARE = 0.35  # the default threshold sends about this share of prompts to the cloud


def held_out(record_id: str) -> bool:
    return zlib.crc32(record_id.encode()) % 5 == 0


def _matrix(
    records: list[dict[str, Any]], mean: Any = None, std: Any = None
) -> tuple[Any, Any, Any]:
    from scipy import sparse

    data: list[float] = []
    indices: list[int] = []
    pointers = [0]
    dense = []
    for record in records:
        hashed, shape = featurize(record["prompt"])
        indices.extend(hashed)
        data.extend(hashed.values())
        pointers.append(len(indices))
        dense.append(shape)
    dense_arr = np.asarray(dense)
    if mean is None:
        mean, std = dense_arr.mean(0), dense_arr.std(0) + 1e-6
    words = sparse.csr_matrix((data, indices, pointers), shape=(len(records), HASH_SIZE))
    return sparse.hstack([words, sparse.csr_matrix((dense_arr - mean) / std)]).tocsr(), mean, std


def main() -> None:
    from sklearn.linear_model import Ridge

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, action="append", required=True)
    parser.add_argument("--alpha", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args()

    records = [
        json.loads(line)
        for path in args.data
        for line in path.read_text().split("\n")
        if line.strip()
    ]
    train = [r for r in records if not held_out(r["id"])]
    test = [r for r in records if held_out(r["id"])]
    x_train, mean, std = _matrix(train)
    gain = np.array([r["strong_score"] - r["weak_score"] for r in train])
    model = Ridge(alpha=args.alpha).fit(x_train, gain)

    x_test, _, _ = _matrix(test, mean, std)
    predicted = 1 / (1 + np.exp(-SQUASH * x_test @ model.coef_ - SQUASH * model.intercept_))
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
        print(
            f"{source:>8}: held out {m.count:5d}  APGR {m.apgr:.3f}  CPT(50%) {m.cpt50:.3f}  CPT(80%) {m.cpt80:.3f}"
        )

    train_scores = 1 / (1 + np.exp(-SQUASH * (x_train @ model.coef_ + model.intercept_)))
    coef = model.coef_.astype(np.float32)
    payload = {
        "version": 2,
        "kind": "ridge-gain-hashed-words-per-prompt-kind",
        "hash_bits": HASH_BITS,
        "squash": SQUASH,
        "intercept": float(model.intercept_),
        "dense_features": list(DENSE),
        "dense_mean": [round(float(v), 6) for v in mean],
        "dense_std": [round(float(v), 6) for v in std],
        "dense_weights": [round(float(v), 6) for v in coef[HASH_SIZE:]],
        "word_weights_f16_b64": base64.b64encode(
            coef[:HASH_SIZE].astype(np.float16).tobytes()
        ).decode(),
        "threshold": round(float(np.quantile(train_scores, 1 - CLOUD_SHARE)), 4),
        "trained_on": [p.name for p in args.data],
        "train_records": len(train),
        "held_out_metrics": metrics,
    }
    args.out.write_text(json.dumps(payload, indent=1) + "\n")
    print(
        f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB), threshold {payload['threshold']}"
    )


if __name__ == "__main__":
    main()
