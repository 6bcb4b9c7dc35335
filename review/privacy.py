"""The privacy guard (SPEC B1): key files are never sent, secrets are redacted before a prompt
leaves for a reviewer or a cloud upstream.

Detection uses detect-secrets' regex plugins (the fast ones: their patterns are maintained
upstream as token formats change) plus rules of our own for what they miss: OpenAI- and
Anthropic-style keys (`sk-...`), whole private-key blocks (the plugin matches only the header
line) and `.env`-style assignments of secret-named variables. A match is replaced with
`[REDACTED:<kind>]`; the secret itself is never logged or stored.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import PurePosixPath
from typing import Any

# File names whose content is never sent, whatever it holds.
_KEY_FILE_NAMES = re.compile(
    r"""^(
        \.env(\..+)?            # .env, .env.local, .env.production
      | .+\.(pem|key|p12|pfx|jks|keystore|kdbx|ppk|asc|gpg)
      | id_(rsa|dsa|ecdsa|ed25519)(_sk)?(\.pub)?
      | \.netrc | \.pgpass | \.npmrc | \.pypirc | credentials(\.json)?
    )$""",
    re.X | re.I,
)
# .env.example and friends document variable names, not values.
_TEMPLATE_SUFFIXES = (".example", ".sample", ".template", ".dist")

# detect-secrets plugins fast enough for every request (each under ~5 ms on 300 kB here; the
# keyword- and entropy-based ones cost 25-70 ms and flag ordinary code).
_PLUGINS = (
    "AWSKeyDetector",
    "AzureStorageKeyDetector",
    "BasicAuthDetector",
    "GitHubTokenDetector",
    "GitLabTokenDetector",
    "JwtTokenDetector",
    "NpmDetector",
    "OpenAIDetector",
    "PypiTokenDetector",
    "SendGridDetector",
    "SlackDetector",
    "SquareOAuthDetector",
    "StripeDetector",
)
# Each starts with a literal (the regex engine then skips ahead fast); that the match starts a
# word is checked in code, as a leading \b would cost a full scan.
_OWN_RULES: tuple[tuple[str, str], ...] = (
    (
        "private-key",
        r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[\s\S]{0,20000}?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)?",
    ),
    ("anthropic-key", r"sk-ant-[A-Za-z0-9_-]{20,}"),
    ("openai-key", r"sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}"),
    ("google-api-key", r"AIza[0-9A-Za-z_-]{35}"),
    # Prefixes common enough inside words ("task-...", "shelf_...") must start one.
    ("openai-key", r"sk-[A-Za-z0-9_-]{20,}"),
    ("huggingface-token", r"hf_[A-Za-z0-9]{30,}"),
)
_WORD_START = frozenset({r"sk-[A-Za-z0-9_-]{20,}", r"hf_[A-Za-z0-9]{30,}"})
# NAME=value where NAME says secret: the value (group 2) is redacted. Unquoted values only in
# the .env form (no spaces around '='); in code, only quoted literals.
_SECRET_NAME = r"[A-Za-z0-9_.-]*(?:secret|token|passw(?:or)?d|pwd|api[_-]?key|apikey|private[_-]?key|access[_-]?key|credential|auth)[A-Za-z0-9_.-]*"
_ASSIGNMENTS = (
    re.compile(rf"(?im)^[+\- ]?[ \t]*(?:export[ \t]+)?({_SECRET_NAME})=(?!['\"])([^\s'\"#]{{6,}})"),
    re.compile(rf"(?i)({_SECRET_NAME})['\"]?[ \t]*(?:=|:|:=|=>)[ \t]*['\"]([^\s'\"]{{6,}})['\"]"),
)
# Where an assignment may be: lines holding a secret-sounding word (found in the lower-cased
# text: a case-insensitive alternation costs ten times more).
_KEYWORD = re.compile(
    r"secret|token|passw|pwd|api[_-]?key|apikey|private[_-]?key|access[_-]?key|credential|auth"
)
_LINE_WINDOW = 2000
_PLACEHOLDER = re.compile(
    r"^(?:\$\{?\w+\}?|<[^>]*>|x{6,}|\*{6,}|\.{3,}|changeme|your[_-].*)$", re.I
)


def key_file_reason(path: str) -> str | None:
    """Why a file must never be sent (private keys, .env files, keystores...), or None."""
    name = PurePosixPath(path).name
    if name.lower().endswith(_TEMPLATE_SUFFIXES):
        return None
    if _KEY_FILE_NAMES.match(name):
        return "key or secrets file: never sent"
    return None


@dataclass
class Redaction:
    text: str
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@cache
def _detectors() -> tuple[tuple[str, re.Pattern[str]], ...]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    found: list[tuple[str, re.Pattern[str]]] = [
        (kind, re.compile(pattern)) for kind, pattern in _OWN_RULES
    ]
    plugins: dict[str, Any] = get_mapping_from_secret_type_to_class()
    for cls in plugins.values():
        if cls.__name__ in _PLUGINS:
            kind = re.sub(r"[^a-z0-9]+", "-", str(cls.secret_type).lower()).strip("-")
            found += [(kind, pattern) for pattern in cls().denylist]
    return tuple(found)


def _starts_word(text: str, index: int) -> bool:
    return index == 0 or not (text[index - 1].isalnum() or text[index - 1] in "_-")


def _assignment_spans(text: str) -> list[tuple[int, int, str]]:
    lowered = text.lower()
    if len(lowered) != len(text):  # a few non-ASCII letters change length when lowered
        windows = [(0, len(text))]
    else:
        windows, seen = [], set()
        for hit in _KEYWORD.finditer(lowered):
            start = max(text.rfind("\n", 0, hit.start()) + 1, hit.start() - _LINE_WINDOW)
            if start in seen:
                continue
            seen.add(start)
            end = text.find("\n", hit.end())
            end = len(text) if end == -1 else end
            windows.append((start, min(end, hit.end() + _LINE_WINDOW)))
    spans = []
    for start, end in windows:
        line = text[start:end]
        for pattern in _ASSIGNMENTS:
            for match in pattern.finditer(line):
                if not _PLACEHOLDER.match(match.group(2)):
                    spans.append(
                        (start + match.start(2), start + match.end(2), "secret-assignment")
                    )
    return spans


def redact(text: str) -> Redaction:
    """`text` with every detected secret replaced by [REDACTED:<kind>], and the counts."""
    counts: Counter[str] = Counter()
    spans: list[tuple[int, int, str]] = []
    for kind, pattern in _detectors():
        for match in pattern.finditer(text):
            start, end = match.span()  # the whole match: some plugins capture only a prefix
            if end > start and (pattern.pattern not in _WORD_START or _starts_word(text, start)):
                spans.append((start, end, kind))
    spans += _assignment_spans(text)
    if not spans:
        return Redaction(text)
    spans.sort(key=lambda s: (s[0], -s[1]))
    out: list[str] = []
    position = 0
    for start, end, kind in spans:
        if start < position:  # inside a span already redacted
            continue
        out.append(text[position:start])
        out.append(f"[REDACTED:{kind}]")
        counts[kind] += 1
        position = end
    out.append(text[position:])
    return Redaction("".join(out), counts)
