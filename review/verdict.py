"""Turn a reviewer's free-form answer into a verdict, and a human's words into one.

Models answer in many shapes; we accept a JSON object (fenced or bare, any key case) or a
`STATUS: approved|needs_revision` line. Anything else is unparseable and the caller retries.

Verdict-shaped text the reviewer merely quotes does not count: blocks of the round's material
(agent- and repository-supplied text, enclosed in the round's boundary tag) and `>` quoted
lines are taken out first. When what is left holds verdicts that disagree, the gate fails
closed: needs_revision.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from review.status import SessionStatus

# A verdict is one of two of the session's statuses.
Status = Literal[SessionStatus.APPROVED, SessionStatus.NEEDS_REVISION]

_STATUS_WORD = re.compile(
    r"^\W*(approved?|needs?[\s_-]*revisions?|changes[\s_-]*requested)\W*$", re.I
)
_STATUS_LINE = re.compile(
    r"^[ \t*#_`-]*(?:status|verdict|decision)[\s*_`]*[:=][\s*_`]*"
    r"(approved?|needs?[\s_-]*revisions?|changes[\s_-]*requested)\b[\s*_`.]*$",
    re.I | re.M,
)
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)```", re.S)
_HUMAN_APPROVALS = {"lgtm", "ok", "okay", "approved", "approve", "looks good", "ship it", "lgtm!"}


class UnparseableAnswer(ValueError):
    """The reviewer's answer holds no recognisable verdict."""


class Finding(BaseModel):
    file: str | None = None
    line: int | None = None
    severity: str = "blocking"
    message: str

    @field_validator("severity", mode="before")
    @classmethod
    def _normalise_severity(cls, value: Any) -> str:
        text = str(value or "blocking").strip().lower()
        if text in {"critical", "error", "high", "major", "must", "blocker"}:
            return "blocking"
        if text in {"low", "nit", "suggestion", "info", "warning", "optional", "minor"}:
            return "minor"
        return text or "blocking"

    @field_validator("line", mode="before")
    @classmethod
    def _line_number(cls, value: Any) -> int | None:
        if value in (None, ""):
            return None
        match = re.search(r"\d+", str(value))
        return int(match.group()) if match else None


class Verdict(BaseModel):
    status: Status
    feedback: str
    findings: list[Finding] = Field(default_factory=list)


def normalise_status(word: str) -> Status | None:
    match = _STATUS_WORD.match(word.strip())
    if not match:
        return None
    if match.group(1).lower().startswith("approve"):
        return SessionStatus.APPROVED
    return SessionStatus.NEEDS_REVISION


_QUOTED_LINE = re.compile(r"^[ \t]*>.*$", re.M)


def _unquoted(text: str, boundary: str | None) -> str:
    if boundary:
        tag = re.escape(boundary)
        # A quoted block, or an opening the reviewer never closed: everything to the end.
        text = re.sub(rf"<{tag}\b.*?(?:</{tag}>|\Z)", "", text, flags=re.S | re.I)
    return _QUOTED_LINE.sub("", text)


def parse_verdict(answer: str, boundary: str | None = None) -> Verdict:
    """The reviewer's verdict; `boundary` is the tag that enclosed this round's material."""
    text = (answer or "").strip()
    if not text:
        raise UnparseableAnswer("the reviewer's answer was empty")
    # Reasoning models wrap their thinking in tags; the verdict follows it.
    text = re.sub(r"<think>.*?</think>", "", text, flags=re.S | re.I).strip()
    text = _unquoted(text, boundary).strip()
    verdicts = [v for obj in _json_objects(text) if (v := _from_json(obj)) is not None]
    if verdicts:
        revisions = [v for v in verdicts if v.status == SessionStatus.NEEDS_REVISION]
        return revisions[0] if revisions else verdicts[0]
    match = _STATUS_LINE.search(text)
    if match:
        status = normalise_status(match.group(1))
        if status:
            feedback = (text[: match.start()] + text[match.end() :]).strip()
            if not feedback:
                feedback = "Approved." if status == "approved" else "Revision needed."
            return Verdict(status=status, feedback=feedback)
    raise UnparseableAnswer(
        "no verdict found: expected a JSON object with a status or a 'STATUS: approved|needs_revision' line"
    )


def _json_objects(text: str) -> list[dict[str, Any]]:
    """JSON objects in the text: fenced blocks first, then every bare object, in order."""
    found: list[dict[str, Any]] = []
    blocks = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for block in blocks:
        index = block.find("{")
        while index != -1:
            try:
                obj, end = decoder.raw_decode(block, index)
            except json.JSONDecodeError:
                index = block.find("{", index + 1)
                continue
            if isinstance(obj, dict):
                found.append(obj)
            index = block.find("{", end)
    return found


def _from_json(obj: dict[str, Any]) -> Verdict | None:
    lowered = {str(k).lower(): v for k, v in obj.items()}
    raw_status = next(
        (lowered[k] for k in ("status", "verdict", "decision", "result") if k in lowered), None
    )
    if not isinstance(raw_status, str):
        return None
    status = normalise_status(raw_status)
    if status is None:
        return None
    feedback = next(
        (
            lowered[k]
            for k in ("feedback", "summary", "comments", "message", "reason")
            if k in lowered
        ),
        "",
    )
    if isinstance(feedback, list):
        feedback = "\n".join(str(item) for item in feedback)
    findings: list[Finding] = []
    raw_findings: Any = next(
        (lowered[k] for k in ("findings", "issues", "problems") if k in lowered), []
    )
    if isinstance(raw_findings, list):
        for item in raw_findings:
            if isinstance(item, str):
                item = {"message": item}
            if not isinstance(item, dict):
                continue
            item = {str(k).lower(): v for k, v in item.items()}
            if "message" not in item:
                item["message"] = item.get("description") or item.get("text") or item.get("issue")
            if "file" not in item and "path" in item:
                item["file"] = item["path"]
            try:
                findings.append(Finding.model_validate(item))
            except ValidationError:
                continue
    feedback_text = str(feedback or "").strip()
    if not feedback_text:
        feedback_text = "\n".join(f"- {f.message}" for f in findings) or (
            "Approved." if status == "approved" else "Revision needed."
        )
    return Verdict(status=status, feedback=feedback_text, findings=findings)


def human_verdict(feedback: str) -> Verdict:
    """lgtm / ok / approved / looks good / ship it → approved; any other text → needs_revision."""
    text = (feedback or "").strip()
    if not text:
        raise ValueError("feedback must not be empty: write 'lgtm' to approve or what to change")
    normalised = re.sub(r"[\s.!]+$", "", text.lower()).strip()
    normalised = re.sub(r"\s+", " ", normalised)
    if normalised in _HUMAN_APPROVALS:
        return Verdict(status=SessionStatus.APPROVED, feedback=text)
    return Verdict(status=SessionStatus.NEEDS_REVISION, feedback=text)
