"""Render the review prompt from the project context, fitted to the token budget."""

from __future__ import annotations

import re
import secrets
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

import prompts
from review.budget import CHARS_PER_TOKEN, FittedDiff, SkippedFile, estimate_tokens, fit
from review.context import Document, ProjectContext
from review.privacy import redact
from review.request import ReviewRequest

# Shares of the budget the documents may take before they are shortened (explicitly).
_PRD_SHARE = 0.25
_GUIDES_SHARE = 0.15
_CONVERSATION_SHARE = 0.05
_MAX_CONVERSATION_ITEMS = 20
_TEMPLATE_OVERHEAD_TOKENS = 700


@dataclass
class BuiltPrompt:
    text: str
    tokens: int
    fitted: FittedDiff
    skipped: list[SkippedFile]
    summary: dict[str, Any]
    task: str  # what the agent says it did (summary, details): what review's auto mode classifies
    boundary: str = ""  # the tag enclosing agent- and repository-supplied text this round
    diff: str = ""  # the change as the reviewer saw it (redacted)
    redactions: Counter[str] = field(default_factory=Counter)


class _Material:
    """Agent- and repository-supplied text on its way into the prompt: secrets redacted, and
    the round's boundary tag taken out so the text cannot close its block."""

    def __init__(self, boundary: str) -> None:
        self.boundary = boundary
        self._tag = re.compile(re.escape(boundary), re.I)
        self.redactions: Counter[str] = Counter()

    def __call__(self, text: str | None) -> str:
        if not text:
            return text or ""
        found = redact(text)
        self.redactions.update(found.counts)
        return self._tag.sub("material-tag-removed", found.text)

    def path(self, text: str) -> str:
        """A file name, on one line (a name may hold newlines to fake a heading)."""
        return _CONTROL.sub("?", self(text))


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _shorten(text: str, max_tokens: int, what: str) -> str:
    if estimate_tokens(text) <= max_tokens:
        return text
    keep = int(max_tokens * CHARS_PER_TOKEN)
    return (
        text[:keep]
        + f"\n[... {what} shortened to fit the budget: {keep} of {len(text)} characters shown]"
    )


def _template(override: Path | None) -> jinja2.Template:
    env = jinja2.Environment(
        autoescape=False, keep_trailing_newline=True, undefined=jinja2.StrictUndefined
    )
    return env.from_string(prompts.load("review.md", override))


def build_prompt(
    request: ReviewRequest,
    context: ProjectContext,
    *,
    iteration: int,
    max_iterations: int,
    budget_tokens: int,
    previous_feedback: str | None = None,
    human_feedback: str | None = None,
    template_override: Path | None = None,
    escalate_marker: str = "",
) -> BuiltPrompt:
    prd = (
        _shorten(context.prd.text, int(budget_tokens * _PRD_SHARE), "PRD") if context.prd else None
    )
    guide_budget = int(budget_tokens * _GUIDES_SHARE / max(1, len(context.guides)))
    guides = [Document(g.path, _shorten(g.text, guide_budget, g.path)) for g in context.guides]
    conversation = [
        _shorten(item, 300, "message")
        for item in request.conversation_history[-_MAX_CONVERSATION_ITEMS:]
    ]
    conversation_tokens = sum(estimate_tokens(c) for c in conversation)
    while conversation and conversation_tokens > budget_tokens * _CONVERSATION_SHARE:
        conversation_tokens -= estimate_tokens(conversation.pop(0))

    fixed = (
        _TEMPLATE_OVERHEAD_TOKENS
        + estimate_tokens(request.summary)
        + estimate_tokens(request.details or "")
        + conversation_tokens
        + estimate_tokens(previous_feedback or "")
        + estimate_tokens(human_feedback or "")
        + (estimate_tokens(prd) if prd else 0)
        + sum(estimate_tokens(g.text) for g in guides)
    )
    fitted = fit(context.changes, max(0, budget_tokens - fixed))
    skipped = [SkippedFile(path, reason) for path, reason in context.skipped_documents]
    skipped += fitted.skipped
    # A new tag every round: nothing the agent wrote before can know it.
    material = _Material(f"material-{secrets.token_hex(8)}")
    diff = material(fitted.text)
    text = _template(template_override).render(
        boundary=material.boundary,
        iteration=iteration,
        max_iterations=max_iterations,
        task_id=material(request.task_id),
        summary=material(request.summary),
        details=material(request.details),
        conversation=[material(item) for item in conversation],
        human_feedback=material(human_feedback),
        previous_feedback=material(previous_feedback),
        prd_path=material.path(context.prd.path) if context.prd else None,
        prd=material(prd),
        guide_paths=", ".join(material.path(g.path) for g in guides),
        guides=[Document(material(g.path), material(g.text)) for g in guides],
        head=context.head,
        files_shown=len(fitted.included),
        shortened=[material.path(path) for path in fitted.shortened],
        diff=diff,
        skipped=[SkippedFile(material.path(s.path), s.reason) for s in skipped],
        escalate_marker=escalate_marker,
    )
    changes = context.changes
    summary = {
        "project_dir": str(context.root),
        "head": context.head,
        "branch": context.branch,
        "prd": context.prd.path if context.prd else None,
        "guides": [g.path for g in context.guides],
        "files_changed": len(changes),
        "files_shown": len(fitted.included),
        "additions": sum(c.additions for c in changes),
        "deletions": sum(c.deletions for c in changes),
        "files": [
            {"path": c.path, "status": c.status, "additions": c.additions, "deletions": c.deletions}
            for c in changes
        ],
        "shortened": fitted.shortened,
        "diff_tokens": fitted.tokens,
    }
    return BuiltPrompt(
        text=text,
        tokens=estimate_tokens(text),
        fitted=fitted,
        skipped=skipped,
        summary=summary,
        task="\n\n".join(part for part in (request.summary, request.details) if part),
        boundary=material.boundary,
        diff=diff,
        redactions=material.redactions,
    )
