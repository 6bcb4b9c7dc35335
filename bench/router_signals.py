"""Which stage-1 signal holds up on work the router never saw: whole sources held out.

    .venv/bin/pip install -e '.[train]'
    .venv/bin/python bench/router_signals.py [--embeddings N]

Groups: gsm8k, our agent tasks, and mmlu-dev's subjects in three folds (a subject is never
in both train and test). For each group, every design is fitted on the other groups and
scored on it (RouteLLM's APGR; random is 0.50):
  length   the shipped LengthScorer (no fitting: its centers are per kind of prompt)
  learned  the learned router as train.py makes it (hashed words + shapes per kind)
  shape    ridge on the shape measures alone, pooled over kinds
  embed    ridge on the shared Gemma model's mean-pooled embeddings (with --embeddings N:
           N prompts per group at most; about 0.3-0.6 s a prompt on a 2-core CPU)
  encoder  ridge on a sentence encoder's embeddings (with --encoder DIR: a
           sentence-transformers model folder; needs sentence-transformers, a GPU helps),
           and encoder+len, the same with the length scorer's log-length added
Prints a table, then JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from proxy.classifier import LengthScorer
from proxy.classifier.features import featurize
from proxy.classifier.metrics import evaluate
from proxy.classifier.train import _scored

ROOT = Path(__file__).resolve().parents[1]
FILES = [
    ROOT.parent / "shared" / "routing-eval" / "gsm8k.jsonl",
    ROOT.parent / "shared" / "routing-eval" / "mmlu-dev.jsonl",
    ROOT / "proxy" / "classifier" / "data" / "agent-tasks.jsonl",
]


def _group(record: dict[str, Any]) -> str:
    source = str(record.get("source", ""))
    if source.startswith("mmlu/"):
        return f"mmlu-subjects-{zlib.crc32(source.split('/', 1)[1].encode()) % 3}"
    return "gsm8k" if source == "gsm8k" else "agent-tasks"


def _apgr(records: list[dict[str, Any]], scores: Any) -> float:
    return evaluate(
        [float(s) for s in scores],
        [r["weak_score"] for r in records],
        [r["strong_score"] for r in records],
    ).apgr


def _ridge(x: Any, gain: Any, train: Any, test: Any, alpha: float) -> Any:
    from sklearn.linear_model import Ridge

    mean, std = x[train].mean(0), x[train].std(0) + 1e-6
    z = (x - mean) / std
    return Ridge(alpha=alpha).fit(z[train], gain[train]).predict(z[test])


async def _embeddings(prompts: list[str]) -> Any:
    from proxy.model_server import ModelServer
    from proxy.settings import ModelSettings

    model = ModelServer(ModelSettings(n_ctx=1024))
    await model.ensure_loaded()
    vectors = [await model.embed(p[:1500]) for p in prompts]
    model.close()
    matrix = np.array(vectors, dtype=float)
    return matrix / (np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-9)


def _encoded(directory: Path, prompts: list[str]) -> Any:
    from sentence_transformers import SentenceTransformer  # not a dependency: bench only

    encoder = SentenceTransformer(str(directory))
    return np.asarray(encoder.encode(prompts, batch_size=128, normalize_embeddings=True))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--embeddings", type=int, default=0, metavar="N")
    parser.add_argument("--encoder", type=Path, help="a sentence-transformers model folder")
    parser.add_argument("--data", type=Path, action="append", help="JSONL files (default: ours)")
    args = parser.parse_args()
    files = args.data or FILES
    records = [json.loads(line) for path in files for line in path.open() if line.strip()]
    if args.embeddings:  # a sample per group: the embeddings are slow on a CPU
        random.Random(7).shuffle(records)
        kept: dict[str, int] = {}
        sample = []
        for record in records:
            group = _group(record)
            if kept.get(group, 0) < args.embeddings:
                kept[group] = kept.get(group, 0) + 1
                sample.append(record)
        records = sample
    groups = np.array([_group(r) for r in records])
    gain = np.array([r["strong_score"] - r["weak_score"] for r in records])
    shapes = np.array([featurize(r["prompt"])[1] for r in records])
    embedded = asyncio.run(_embeddings([r["prompt"] for r in records])) if args.embeddings else None
    length = LengthScorer()
    encoded = _encoded(args.encoder, [r["prompt"] for r in records]) if args.encoder else None
    if encoded is not None:
        scores = np.array([length.score(r["prompt"]) for r in records])
        with_length = np.hstack([encoded, np.log(scores / (1 - scores))[:, None]])
    rows = []
    for group in sorted(set(groups)):
        test, train = np.where(groups == group)[0], np.where(groups != group)[0]
        held = [records[i] for i in test]
        row = {
            "held_out": group,
            "records": len(held),
            "length": _apgr(held, [length.score(r["prompt"]) for r in held]),
            "learned": _apgr(held, _scored([records[i] for i in train], 10.0)(held)),
            "shape": _apgr(held, _ridge(shapes, gain, train, test, 30.0)),
        }
        if embedded is not None:
            row["embed"] = _apgr(held, _ridge(embedded, gain, train, test, 1000.0))
        if encoded is not None:
            row["encoder"] = _apgr(held, _ridge(encoded, gain, train, test, 1000.0))
            row["encoder+len"] = _apgr(held, _ridge(with_length, gain, train, test, 1000.0))
        rows.append(row)
    designs = [k for k in rows[0] if k not in ("held_out", "records")]
    print(f"{'held out':22} {'n':>5} " + " ".join(f"{d:>8}" for d in designs))
    for row in rows:
        print(
            f"{row['held_out']:22} {row['records']:5d} "
            + " ".join(f"{row[d]:8.3f}" for d in designs)
        )
    means = {d: float(np.mean([row[d] for row in rows])) for d in designs}
    print(f"{'mean':22} {'':5} " + " ".join(f"{means[d]:8.3f}" for d in designs))
    print(json.dumps({"rows": rows, "means": means}, indent=2))


if __name__ == "__main__":
    main()
