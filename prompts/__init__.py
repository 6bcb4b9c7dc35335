"""Prompt templates shipped with brainrouter. Each can be replaced by a file named in config."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def builtin_path(name: str) -> Path:
    """Path of a shipped template, e.g. builtin_path("review.md")."""
    return Path(str(resources.files(__package__).joinpath(name)))


def load(name: str, override: Path | None = None) -> str:
    """The text of a template: the override file when given, else the shipped one."""
    path = override if override is not None else builtin_path(name)
    return path.read_text(encoding="utf-8")
