"""Render the review prompt from the project context, fitted to the token budget."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

import prompts
from review.budget import CHARS_PER_TOKEN, FittedDiff, SkippedFile, estimate_tokens, fit
from review.context import Document, ProjectContext
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
    skipped = list(fitted.skipped)
    text = _template(template_override).render(
        iteration=iteration,
        max_iterations=max_iterations,
        task_id=request.task_id,
        summary=request.summary,
        details=request.details,
        conversation=conversation,
        human_feedback=human_feedback,
        previous_feedback=previous_feedback,
        prd_path=context.prd.path if context.prd else None,
        prd=prd,
        guide_paths=", ".join(g.path for g in guides),
        guides=guides,
        head=context.head,
        files_shown=len(fitted.included),
        shortened=fitted.shortened,
        diff=fitted.text,
        skipped=skipped,
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
    )
