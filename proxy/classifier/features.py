"""Cheap features of a prompt for the learned router: hashed words and word pairs, plus a few
shape measures (length, numbers, code, choices). Pure Python, about a millisecond a prompt;
the same function serves training (train.py) and the daemon."""

from __future__ import annotations

import math
import re
import zlib

HASH_BITS = 16
HASH_SIZE = 1 << HASH_BITS
MAX_CHARS = 6000  # the head and tail of very long prompts say enough

_WORD = re.compile(r"[a-z]+|\d+|[^\sa-z\d]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_CHOICE = re.compile(r"^\s*\(?[A-E][.)]\s", re.M)
_CODE = re.compile(r"```|\bdef |\bclass |\bfunction\b|=>|;\s*$|\{\s*$|\bimport |\breturn\b", re.M)

DENSE = (
    "log_chars",
    "log_words",
    "log_lines",
    "numbers",
    "log_numbers",
    "digits_share",
    "choices",
    "code",
    "questions",
    "math_ops",
    "long_words_share",
    "dollars",
    "percent",
)


def _hash(token: str) -> int:
    return zlib.crc32(token.encode()) & (HASH_SIZE - 1)


def clip(text: str) -> str:
    if len(text) <= MAX_CHARS:
        return text
    half = MAX_CHARS // 2
    return text[:half] + "\n" + text[-half:]


def featurize(text: str) -> tuple[dict[int, float], list[float]]:
    """(sparse hashed word features, dense shape features) of one prompt."""
    text = clip(text)
    lowered = text.lower()
    words = _WORD.findall(lowered)
    sparse: dict[int, float] = {}
    previous = "<s>"
    for word in words:
        if word.isdigit():
            word = "<num>" if len(word) < 4 else "<bignum>"
        for token in (word, f"{previous}_{word}"):
            index = _hash(token)
            sparse[index] = sparse.get(index, 0.0) + 1.0
        previous = word
    norm = math.sqrt(sum(v * v for v in sparse.values())) or 1.0
    sparse = {k: v / norm for k, v in sparse.items()}
    numbers = _NUMBER.findall(text)
    alnum = [w for w in words if w[0].isalnum()]
    dense = [
        math.log1p(len(text)),
        math.log1p(len(words)),
        math.log1p(text.count("\n")),
        min(len(numbers), 30) / 30,
        math.log1p(len(numbers)),
        sum(c.isdigit() for c in text) / max(1, len(text)),
        min(len(_CHOICE.findall(text)), 6) / 6,
        min(len(_CODE.findall(text)), 10) / 10,
        min(text.count("?"), 5) / 5,
        min(sum(text.count(op) for op in "+-*/=^"), 30) / 30,
        sum(len(w) > 9 for w in alnum) / max(1, len(alnum)),
        min(text.count("$"), 5) / 5,
        min(text.count("%"), 5) / 5,
    ]
    return sparse, dense
