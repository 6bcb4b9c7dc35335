"""Requests made inside the daemon (the review loop's), through the same pipeline as a
harness's: what marks them, and how their answer is read back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import Response


@dataclass(frozen=True)
class Internal:
    """A request made inside the daemon (ProxyService.ask), not by a harness."""

    traffic: str  # what the routing event names as its harness ("review")
    project_dir: str | None


@dataclass(frozen=True)
class Asked:
    route: str  # the upstream that answered (local, when the cloud failed and it fell back)
    model: str
    text: str


class AskFailed(RuntimeError):
    """An in-process request got no answer; the message says why, as a client would read it."""


def read_answer(response: Response, fields: dict[str, Any], route: str) -> Asked:
    """The text of a whole chat completion answered by the pipeline, or AskFailed with the
    error it answered."""
    where = fields.get("upstream", route)
    try:
        data = orjson.loads(bytes(response.body))
        if response.status_code >= 400:
            raise AskFailed(str(data["error"]["message"]))
        content = data["choices"][0]["message"].get("content")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise AskFailed(
            f"the {where} upstream's answer is not a chat completion (HTTP {response.status_code})"
        ) from exc
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(content, str):
        raise AskFailed(f"the {where} upstream's answer has no text")
    return Asked(str(fields["upstream"]), str(fields["model"]), content)
