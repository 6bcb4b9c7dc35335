"""What version of each component runs, what is installed, and the newest known without the
network (SPEC P12): a daemon keeps running the code it started with after a `pip install -U`,
and an editable install keeps its old metadata after a `git pull` of its checkout. Both are
read from the local install: the distribution's metadata now, and the checkout's
pyproject.toml for an editable install."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from importlib.metadata import Distribution, PackageNotFoundError, distribution
from pathlib import Path
from urllib.parse import unquote, urlparse

from packaging.version import InvalidVersion, Version

COMPONENTS = ("brainrouter", "llama-cpp-python")


@dataclass(frozen=True)
class ComponentVersion:
    running: str | None  # what this process imported at start
    installed: str | None  # the install's metadata now
    latest_known: str | None  # the newest of those and an editable checkout's own version

    @property
    def action(self) -> str | None:
        """What brings the running version up to the newest known, if anything."""
        if self.latest_known is not None and _newer(self.latest_known, self.installed):
            return f"reinstall ({self.latest_known} is checked out, {self.installed} installed)"
        if self.installed is not None and _newer(self.installed, self.running):
            return f"restart the daemon ({self.installed} is installed, {self.running} runs)"
        return None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "running": self.running,
            "installed": self.installed,
            "latest_known": self.latest_known,
            "action": self.action,
        }


def _parse(text: str | None) -> Version | None:
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


def _newer(a: str | None, b: str | None) -> bool:
    left, right = _parse(a), _parse(b)
    return left is not None and right is not None and left > right


def _find(name: str) -> Distribution | None:
    try:
        return distribution(name)
    except PackageNotFoundError:
        return None


def checkout_version(dist: Distribution) -> str | None:
    """An editable install's source version (its pyproject.toml), None for any other install
    or an unreadable checkout."""
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "null")
        if not (isinstance(direct, dict) and direct.get("dir_info", {}).get("editable")):
            return None
        url = urlparse(str(direct.get("url", "")))
        if url.scheme != "file":
            return None
        project = tomllib.loads((Path(unquote(url.path)) / "pyproject.toml").read_text())
        version = project.get("project", {}).get("version")
    except (OSError, ValueError, AttributeError, tomllib.TOMLDecodeError):
        return None
    return str(version) if isinstance(version, str) and _parse(version) else None


def of(dist: Distribution | None, running: str | None) -> ComponentVersion:
    installed = dist.version if dist is not None else None
    candidates = [v for v in (installed, checkout_version(dist) if dist else None) if _parse(v)]
    latest = max(candidates, key=lambda v: _parse(v) or Version("0"), default=installed)
    return ComponentVersion(running, installed, latest)


class Versions:
    """Captures the running versions when made (at daemon start); reads the install on ask."""

    def __init__(self) -> None:
        self.running = {
            name: dist.version if (dist := _find(name)) else None for name in COMPONENTS
        }

    def report(self) -> dict[str, dict[str, str | None]]:
        return {name: of(_find(name), self.running[name]).as_dict() for name in COMPONENTS}
