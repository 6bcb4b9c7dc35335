"""The privacy guard on proxied requests (SPEC B1): before a request leaves for the cloud, the
text in it is scanned for secrets; per `proxy.privacy`, they are redacted (default), the
request is kept local, or it is refused. The detector is injected (the daemon passes the
review loop's, so both halves of the product find the same secrets).

Conversations resend every earlier message each turn: each string's result is cached, so a
turn costs a scan of what is new. Strings that hold none of the detectors' trigger words skip
the full scan.
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

PrivacyMode = Literal["redact", "local", "block", "off"]

# Keys whose string values are not prose: ids, names, enums, signatures, binary payloads.
_SKIP_KEYS = frozenset(
    {
        "model",
        "type",
        "role",
        "id",
        "name",
        "call_id",
        "tool_call_id",
        "tool_use_id",
        "signature",
        "data",
        "media_type",
        "url",
        "image_url",
        "file_id",
        "status",
        "stop_reason",
        "encrypted_content",
        "cache_control",
        "previous_response_id",
    }
)
# Extended-thinking blocks carry a signature over their exact text.
_SIGNED_BLOCKS = frozenset({"thinking", "redacted_thinking"})
# A string with none of these cannot hold what the detectors look for: skip the full scan.
# (Words are looked for in the lower-cased text: cheaper than a case-insensitive pattern.)
_TRIGGER = re.compile(
    r"AKIA|ASIA|ABIA|ACCA|A3T|ghp_|gho_|ghu_|ghs_|ghr_|glpat-|gl[a-z]+-|GR1348941|eyJ|xox|"
    r"hooks\.slack|sk-|sk_live|rk_live|SG\.|pypi-|AIza|hf_|-----BEGIN|AccountKey=|_authToken|"
    r"sq0csp-|://[^\s/:@]+:[^\s/@]+@"
)
_TRIGGER_WORDS = re.compile(
    r"secret|token|passw|pwd|api[_-]?key|apikey|private[_-]?key|access[_-]?key|credential|auth"
)
_CACHE_ENTRIES = 8192
_CACHE_CHARS = 32_000_000  # the keys are the strings themselves: bound what they hold
_CACHE_MIN_CHARS = 512


class Redacted(Protocol):
    text: str
    counts: Counter[str]


Detector = Callable[[str], Redacted]


@dataclass
class Scan:
    """What the guard found in one request."""

    body: dict[str, Any]
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def found(self) -> bool:
        return bool(self.counts)

    def describe(self) -> str:
        """For the routing event and the log: kinds and counts, never the secrets."""
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.counts.items()))
        return f"{sum(self.counts.values())} secret(s): {kinds}"


class PrivacyGuard:
    def __init__(self, detect: Detector, mode: PrivacyMode = "redact") -> None:
        self.detect = detect
        self.mode = mode
        self._cache: OrderedDict[str, tuple[str, Counter[str]]] = OrderedDict()
        self._cached_chars = 0

    def text(self, value: str) -> tuple[str, Counter[str]]:
        """One string, redacted, with what was found in it."""
        hit = self._cache.get(value)
        if hit is not None:
            self._cache.move_to_end(value)
            return hit
        if not (_TRIGGER.search(value) or _TRIGGER_WORDS.search(value.lower())):
            result: tuple[str, Counter[str]] = (value, Counter())
            if len(value) < _CACHE_MIN_CHARS:
                return result  # cheaper to look at again than to keep
        else:
            found = self.detect(value)
            result = (found.text, Counter(found.counts))
        self._cache[value] = result
        self._cached_chars += len(value)
        while len(self._cache) > _CACHE_ENTRIES or self._cached_chars > _CACHE_CHARS:
            old, _ = self._cache.popitem(last=False)
            self._cached_chars -= len(old)
        return result

    def scan(self, body: dict[str, Any]) -> Scan:
        """A copy of `body` with every secret in its text redacted (the original is kept)."""
        counts: Counter[str] = Counter()

        def walk(node: Any, key: str | None) -> Any:
            if isinstance(node, str):
                if key in _SKIP_KEYS:
                    return node
                text, found = self.text(node)
                counts.update(found)
                return text
            if isinstance(node, dict):
                if isinstance(node.get("type"), str) and node["type"] in _SIGNED_BLOCKS:
                    return node  # signed by the provider it goes back to: any change breaks it
                return {k: walk(v, k) for k, v in node.items()}
            if isinstance(node, list):
                return [walk(item, key) for item in node]
            return node

        redacted = walk(body, None)
        return Scan(body=redacted if counts else body, counts=counts)


@dataclass(frozen=True)
class Verdict:
    """What to do with a cloud-bound request: send it as is (`none`), redacted, keep it on
    the local route, or refuse it (`block`); `note` says why, never the secrets."""

    action: Literal["none", "redact", "local", "block"]
    body: dict[str, Any]
    note: str = ""

    @property
    def refusal(self) -> str:
        return (
            f"this request holds {self.note.removeprefix('refused: ')} and proxy.privacy is "
            "block: remove them or send it to model=local"
        )


def verdict(guard: PrivacyGuard, body: dict[str, Any], local_configured: bool) -> Verdict:
    """The guard's verdict on a request bound for the cloud (`proxy.privacy`). `local` with no
    local upstream to keep it on becomes `block`. Raises RecursionError on a body nested past
    what the walk goes."""
    scan = guard.scan(body)
    if not scan.found:
        return Verdict("none", body)
    mode = guard.mode
    if mode == "local" and not local_configured:
        mode = "block"
    if mode == "redact":
        return Verdict("redact", scan.body, f"redacted {scan.describe()}")
    if mode == "local":
        return Verdict("local", body, f"kept local: {scan.describe()}")
    return Verdict("block", body, f"refused: {scan.describe()}")
