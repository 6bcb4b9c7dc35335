"""Fit a change to the reviewer's token budget, and say exactly what did not fit.

Order of sacrifice: binary, lock and generated files first (nobody reviews them), then
removed lines of the largest files (the added lines are what the agent wrote), then whole
files, largest first. Every file left out or shortened is named; nothing is cut silently.
"""

from __future__ import annotations

import fnmatch
import math
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from review.context import FileChange

CHARS_PER_TOKEN = 3.5

LOCK_FILES = {
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lockb",
    "bun.lock",
    "poetry.lock",
    "uv.lock",
    "pdm.lock",
    "Pipfile.lock",
    "Cargo.lock",
    "Gemfile.lock",
    "composer.lock",
    "go.sum",
    "flake.lock",
    "pubspec.lock",
    "mix.lock",
    "packages.lock.json",
    "gradle.lockfile",
    "Package.resolved",
    "conda-lock.yml",
}
GENERATED_PATTERNS = (
    "*.min.js",
    "*.min.css",
    "*.map",
    "*_pb2.py",
    "*_pb2_grpc.py",
    "*.pb.go",
    "*.pb.cc",
    "*.pb.h",
    "*.generated.*",
    "*.g.dart",
    "*.snap",
    "*.svg",
    "*.ipynb",
)
GENERATED_DIRS = ("dist/", "build/", "node_modules/", "vendor/", "__generated__/", ".next/")
_GENERATED_MARKER = re.compile(r"@generated|DO NOT EDIT|auto-?generated", re.IGNORECASE)


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


@dataclass
class SkippedFile:
    path: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


@dataclass
class FittedDiff:
    included: list[FileChange] = field(default_factory=list)
    shortened: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    tokens: int = 0

    @property
    def text(self) -> str:
        return "\n".join(change.diff for change in self.included if change.diff)


def skip_reason(change: FileChange) -> str | None:
    """Why a file is never worth the reviewer's tokens, or None."""
    name = PurePosixPath(change.path).name
    if change.withheld:
        return change.withheld
    if change.binary:
        return "binary file"
    if change.too_large:
        return "file too large to read"
    if name in LOCK_FILES or name.endswith(".lock"):
        return "lock file"
    if any(fnmatch.fnmatch(name, pattern) for pattern in GENERATED_PATTERNS):
        return "generated file"
    if any(f"/{d}" in f"/{change.path}" for d in GENERATED_DIRS):
        return "generated file (build output or vendored)"
    head = "\n".join(change.diff.splitlines()[:8])
    if _GENERATED_MARKER.search(head):
        return "generated file (marked as generated)"
    return None


def added_lines_only(change: FileChange) -> FileChange:
    """The same change without its removed lines: what the agent wrote stays reviewable."""
    kept = [
        line
        for line in change.diff.splitlines()
        if not (line.startswith("-") and not line.startswith("---"))
    ]
    note = f"# [{change.deletions} removed lines omitted to fit the budget]"
    return FileChange(
        path=change.path,
        status=change.status,
        additions=change.additions,
        deletions=change.deletions,
        diff="\n".join([*kept, note]) + "\n",
        old_path=change.old_path,
    )


def fit(changes: list[FileChange], budget_tokens: int) -> FittedDiff:
    result = FittedDiff()
    candidates: list[FileChange] = []
    for change in changes:
        reason = skip_reason(change)
        if reason:
            result.skipped.append(SkippedFile(change.path, reason))
        elif change.status == "deleted":
            # A deletion needs no review line by line; its name and size say enough.
            candidates.append(
                FileChange(
                    path=change.path,
                    status="deleted",
                    deletions=change.deletions,
                    diff=f"# deleted: {change.path} ({change.deletions} lines)\n",
                )
            )
        else:
            candidates.append(change)

    def total(items: list[FileChange]) -> int:
        return sum(estimate_tokens(item.diff) for item in items)

    if total(candidates) > budget_tokens:
        # Shorten the largest files first, only as far as needed.
        for index in sorted(range(len(candidates)), key=lambda i: -candidates[i].size_chars):
            if total(candidates) <= budget_tokens:
                break
            change = candidates[index]
            if change.deletions and change.status != "deleted":
                candidates[index] = added_lines_only(change)
                result.shortened.append(change.path)

    while candidates and total(candidates) > budget_tokens:
        largest = max(candidates, key=lambda c: c.size_chars)
        candidates.remove(largest)
        result.skipped.append(
            SkippedFile(
                largest.path,
                f"over the context budget (~{estimate_tokens(largest.diff)} tokens)",
            )
        )
        if largest.path in result.shortened:
            result.shortened.remove(largest.path)

    result.included = candidates
    result.tokens = total(candidates)
    return result
