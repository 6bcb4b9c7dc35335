"""Config files edited in place: parsed in their own format, merged, written atomically with a
timestamped backup, and recorded so that uninstall can put back exactly what was there."""

from __future__ import annotations

import difflib
import hashlib
import io
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import tomlkit
from platformdirs import user_state_path
from ruamel.yaml import YAML

from mcp_server.install import jsonc

Format = Literal["json", "jsonc", "toml", "yaml", "text"]
Document = Any  # a dict-like document of the file's format


class ConfigFileError(RuntimeError):
    """A file that cannot be read or parsed: it is left untouched."""


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def parse(text: str, fmt: Format, path: Path) -> Document:
    if fmt == "text":  # a shell rc file: lines, no structure
        return {"text": text}
    if not text.strip():
        return tomlkit.document() if fmt == "toml" else {}
    try:
        if fmt == "toml":
            return tomlkit.parse(text)
        if fmt == "yaml":
            data = _yaml().load(text)
        else:
            data = jsonc.loads(text) if fmt == "jsonc" else json.loads(text)
    except Exception as exc:
        raise ConfigFileError(
            f"{path} is not valid {fmt.upper()} ({exc}); fix it or move it away — it was left untouched"
        ) from None
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path}: the top level is not a mapping; it was left untouched")
    return data


def render(doc: Document, fmt: Format, before: str = "") -> str:
    """`doc` in `fmt`; a JSONC file's `before` text gives its comments and layout."""
    if fmt == "text":
        return str(doc.get("text", ""))
    if fmt == "toml":
        return tomlkit.dumps(doc)
    if fmt == "yaml":
        out = io.StringIO()
        _yaml().dump(doc, out)
        return out.getvalue()
    if fmt == "jsonc" and before.strip():
        return jsonc.render(before, doc)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Change:
    """One file's planned edit."""

    path: Path
    fmt: Format
    before: bytes | None  # None: the file does not exist
    after: bytes | None  # None: the file is to be removed

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        old = (self.before or b"").decode(errors="replace").splitlines(keepends=True)
        new = (self.after or b"").decode(errors="replace").splitlines(keepends=True)
        return "".join(difflib.unified_diff(old, new, f"{self.path} (now)", f"{self.path} (after)"))


def plan(path: Path, fmt: Format, edit: Callable[[Document], Document | None]) -> Change:
    """Read, parse and edit one file in memory. `edit` returns the new document, or None when
    the file should end up empty of anything (then it is removed if we created it)."""
    before = path.read_bytes() if path.exists() else None
    text = before.decode("utf-8") if before else ""
    doc = parse(text, fmt, path)
    result = edit(doc)
    after = render(result, fmt, text).encode() if result is not None else None
    # Unchanged content: keep the bytes exactly as they were (formatting, comments).
    if (
        before is not None
        and after is not None
        and jsonc.canonical(parse(before.decode("utf-8"), fmt, path))
        == jsonc.canonical(parse(after.decode("utf-8"), fmt, path))
    ):
        after = before
    return Change(path, fmt, before, after)


class Ledger:
    """What install wrote, so that uninstall can restore the original bytes."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or user_state_path("brainrouter") / "installs.json"

    def load(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.path.read_text()))
        except (OSError, ValueError):
            return {}

    def save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # It holds the original bytes of harness configs, which may hold tokens: owner only.
        atomic_write(self.path, json.dumps(data, indent=2).encode(), mode=0o600)


def _mode_of(path: Path) -> int | None:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return None


def atomic_write(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write `data` to `path` whole or not at all, with `mode` (default: the file's own mode,
    0644 for a new file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        mode = _mode_of(path) or 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write(change: Change) -> Path | None:
    """Write one change, a timestamped backup of the old bytes first; returns the backup."""
    backup = None
    if change.before is not None:
        backup = change.path.with_name(f"{change.path.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}")
        # A copy is as private as its original (a 0600 config may hold a token).
        atomic_write(backup, change.before, mode=_mode_of(change.path) or 0o600)
    if change.after is None:
        change.path.unlink(missing_ok=True)
    else:
        atomic_write(change.path, change.after)
    return backup


def set_yaml_key(path: Path, keys: tuple[str, ...], value: Any) -> Path | None:
    """Set one nested key of a YAML file, keeping its comments and everything else; returns
    the backup of the old file (None when there was none)."""

    def edit(doc: Document) -> Document:
        node = doc
        for key in keys[:-1]:
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            if not isinstance(child, dict):
                raise ConfigFileError(
                    f"{path}: {'.'.join(keys[: keys.index(key) + 1])} is not a mapping; it was left untouched"
                )
            node = child
        node[keys[-1]] = value
        return doc

    change = plan(path, "yaml", edit)
    return write(change) if change.changed else None


def apply(change: Change, ledger: Ledger, harness: str) -> Path | None:
    """Write an install's change and record what was there before it."""
    records = ledger.load()
    key = str(change.path)
    backup = write(change)
    if key not in records:  # the first install keeps the true original
        records[key] = {
            "harness": harness,
            "existed": change.before is not None,
            "original": change.before.decode("utf-8", "surrogateescape") if change.before else None,
        }
    records[key]["written_sha256"] = _sha(change.after) if change.after is not None else None
    ledger.save(records)
    return backup


def restore_plan(
    path: Path, fmt: Format, remove: Callable[[Document], Document | None], ledger: Ledger
) -> Change:
    """Uninstall: the original bytes if the file is as install left it, else our keys removed."""
    records = ledger.load()
    record = records.get(str(path))
    current = path.read_bytes() if path.exists() else None
    if record and current is not None and _sha(current) == record.get("written_sha256"):
        original = (
            record["original"].encode("utf-8", "surrogateescape") if record["existed"] else None
        )
        return Change(path, fmt, current, original)
    return plan(path, fmt, remove)


def forget(ledger: Ledger, path: Path) -> None:
    records = ledger.load()
    if records.pop(str(path), None) is not None:
        ledger.save(records)
