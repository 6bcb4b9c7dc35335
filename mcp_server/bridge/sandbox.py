"""Working directories a chat may reach: inside the configured root, symlinks resolved, one
plain name per `mkdir`. A chat message becomes commands on the user's machine; where it runs
them is never left to the message."""

from __future__ import annotations

import os
from pathlib import Path

_NAME_MAX = 255


class OutsideRoot(ValueError):
    """A directory a chat asked for that is not inside the bridge's root, or not a name."""


class Sandbox:
    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()

    def inside(self, path: Path) -> bool:
        return path == self.root or self.root in path.parents

    def check(self, path: Path, asked: str | None = None) -> Path:
        """`path` resolved (symlinks followed) when it is an existing folder inside the root;
        errors name it as `asked` (what the chat wrote), never a path above the root."""
        resolved = path.expanduser().resolve()
        name = asked[:200] if asked is not None else self.shown(resolved)
        if not self.inside(resolved):
            raise OutsideRoot(f"{name} is outside the bridge's root")
        if not resolved.is_dir():
            raise OutsideRoot(f"{name} is not a folder")
        return resolved

    def cd(self, cwd: Path, target: str) -> Path:
        if "\x00" in target or len(target) > 4096:
            raise OutsideRoot("not a folder name")
        # Relative to the session's folder; an absolute path must still be inside the root.
        return self.check(cwd / target, target)

    def up(self, cwd: Path) -> Path:
        if cwd == self.root:
            raise OutsideRoot("already at the bridge's root")
        return self.check(cwd.parent)

    def mkdir(self, cwd: Path, name: str) -> Path:
        if (
            not name
            or name in (".", "..")
            or "/" in name
            or "\\" in name
            or "\x00" in name
            or len(name.encode()) > _NAME_MAX
            or not name.isprintable()
        ):
            raise OutsideRoot(f"{name[:60]!r} is not a plain folder name")
        folder = self.check(cwd) / name
        folder.mkdir(exist_ok=True)
        return self.check(folder)  # a symlink planted under that name is caught here

    def shown(self, path: Path) -> str:
        """A path as chat replies show it: relative to the root, never anything above it."""
        try:
            relative = path.relative_to(self.root)
        except ValueError:
            return "(outside the root)"
        return "~/" + str(relative) if str(relative) != "." else "~"

    def listing(self, cwd: Path, limit: int = 200) -> list[str]:
        folder = self.check(cwd)
        entries = sorted(os.scandir(folder), key=lambda e: (not e.is_dir(), e.name.lower()))
        shown = [e.name + ("/" if e.is_dir() else "") for e in entries[:limit]]
        if len(entries) > limit:
            shown.append(f"… and {len(entries) - limit} more")
        return shown
