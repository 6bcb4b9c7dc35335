"""Cheap features of a prompt for the learned router: hashed words and word pairs, plus shape
measures (length, numbers, quantities, code, answer options). Pure Python, well under a
millisecond for most prompts; the same function serves training (train.py) and the daemon.

Prompts come in kinds that fail in different ways (a multiple-choice question is hard for
other reasons than a word problem is), so every feature is kept per kind: the linear model
learns one set of weights for each. Held-out APGR on gsm8k rose from 0.63 to 0.68 with this.
"""

from __future__ import annotations

import math
import re
import zlib
from typing import Literal

HASH_BITS = 17
HASH_SIZE = 1 << HASH_BITS
MAX_CHARS = 6000  # the head and tail of very long prompts say enough

Kind = Literal["choice", "open"]
KINDS: tuple[Kind, ...] = ("choice", "open")

_WORD = re.compile(r"[a-z]+|\d+|[^\sa-z\d]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_OPTION = re.compile(r"^\s*\(?[A-E][.)]\s*(.*)$", re.M)
_CODE = re.compile(r"```|\bdef |\bclass |\bfunction\b|=>|;\s*$|\{\s*$|\bimport |\breturn\b", re.M)
_NUMBER_WORD = re.compile(
    r"\b(half|twice|third|quarter|double|triple|thrice|dozen|one|two|three|four|five|six|seven"
    r"|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|hundred|thousand|million)\b"
)
_UNIT = re.compile(
    r"\b(minute|hour|day|week|month|year|second|mile|feet|foot|inch|pound|ounce|gallon|cent"
    r"|dollar|meter|kilometer|liter|km|kg)s?\b"
)
_RELATION = re.compile(
    r"\b(more than|less than|fewer than|times as|as many|as much|each|per|every|remaining|rest"
    r"|left|total|altogether|average|profit|discount|percent|ratio)\b"
)
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+")

SHAPE = (
    "log_chars",
    "log_words",
    "log_lines",
    "numbers",
    "log_numbers",
    "digits_share",
    "options",
    "code",
    "questions",
    "math_ops",
    "long_words_share",
    "dollars",
    "percent",
    "distinct_numbers",
    "sentences",
    "number_words",
    "units",
    "distinct_units",
    "relations",
    "decimals",
    "log_largest_number",
    "numbers_over_100",
    "commas",
    "capitalised",
    "slashes",
    "log_option_words",
    "option_length_spread",
    "numeric_options",
    "question_share",
)
# The dense vector: each shape measure once per kind, then "is a multiple-choice question".
DENSE = (*(f"{kind}:{name}" for kind in KINDS for name in SHAPE), "is_choice")


def _hash(token: str) -> int:
    return zlib.crc32(token.encode()) & (HASH_SIZE - 1)


def clip(text: str) -> str:
    if len(text) <= MAX_CHARS:
        return text
    half = MAX_CHARS // 2
    return text[:half] + "\n" + text[-half:]


def kind_of(text: str) -> Kind:
    return "choice" if len(_OPTION.findall(text)) >= 2 else "open"


def _value(number: str) -> float:
    try:
        return float(number.replace(",", ""))
    except ValueError:  # "1.2.3"
        return 0.0


def _shape(text: str, lowered: str, words: list[str]) -> list[float]:
    numbers = _NUMBER.findall(text)
    values = [_value(n) for n in numbers]
    alnum = [w for w in words if w[0].isalnum()]
    options = _OPTION.findall(text)
    option_words = [len(o.split()) for o in options]
    units = _UNIT.findall(lowered)
    return [
        math.log1p(len(text)),
        math.log1p(len(words)),
        math.log1p(text.count("\n")),
        min(len(numbers), 30) / 30,
        math.log1p(len(numbers)),
        sum(c.isdigit() for c in text) / max(1, len(text)),
        min(len(options), 6) / 6,
        min(len(_CODE.findall(text)), 10) / 10,
        min(text.count("?"), 5) / 5,
        min(sum(text.count(op) for op in "+-*/=^"), 30) / 30,
        sum(len(w) > 9 for w in alnum) / max(1, len(alnum)),
        min(text.count("$"), 5) / 5,
        min(text.count("%"), 5) / 5,
        len(set(numbers)),
        len(_SENTENCE_END.findall(text)),
        len(_NUMBER_WORD.findall(lowered)),
        len(units),
        len(set(units)),
        len(_RELATION.findall(lowered)),
        sum("." in n for n in numbers),
        math.log1p(min(max(values, default=0.0), 1e12)),
        sum(v >= 100 for v in values),
        text.count(","),
        len(_CAPITALISED.findall(text)),
        text.count("/"),
        math.log1p(sum(option_words) / len(options)) if options else 0.0,
        (max(option_words) - min(option_words)) / (1 + max(option_words)) if options else 0.0,
        sum(bool(_NUMBER.fullmatch(o.strip())) for o in options) / len(options) if options else 0.0,
        1 - sum(len(o) for o in options) / max(1, len(text)),
    ]


def featurize(text: str) -> tuple[dict[int, float], list[float]]:
    """(sparse hashed word features, dense shape features) of one prompt."""
    text = clip(text)
    lowered = text.lower()
    words = _WORD.findall(lowered)
    kind = kind_of(text)
    sparse: dict[int, float] = {}
    previous = "<s>"
    for word in words:
        if word.isdigit():
            word = "<num>" if len(word) < 4 else "<bignum>"
        for token in (word, f"{previous}_{word}"):
            index = _hash(f"{kind}|{token}")
            sparse[index] = sparse.get(index, 0.0) + 1.0
        previous = word
    norm = math.sqrt(sum(v * v for v in sparse.values())) or 1.0
    sparse = {k: v / norm for k, v in sparse.items()}
    shape = _shape(text, lowered, words)
    dense = [x if k == kind else 0.0 for k in KINDS for x in shape]
    dense.append(1.0 if kind == "choice" else 0.0)
    return sparse, dense
