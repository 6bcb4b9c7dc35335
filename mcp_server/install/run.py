"""Install and uninstall, file by file: plan everything first (a file that cannot be parsed
stops it all, before anything is written), show the diff, ask, then write."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field

from mcp_server.install.files import (
    Change,
    ConfigFileError,
    Ledger,
    apply,
    forget,
    plan,
    restore_plan,
    write,
)
from mcp_server.install.harnesses import EDITS, NAME, Context

Echo = Callable[[str], None]
Confirm = Callable[[str], bool]


@dataclass
class Report:
    changed: list[str] = field(default_factory=list)
    backups: list[str] = field(default_factory=list)
    nothing_to_do: bool = False
    cancelled: bool = False


def _show(changes: list[Change], echo: Echo) -> None:
    for change in changes:
        echo(change.diff() or f"{change.path}: removed")


def _claude_cli(ctx: Context, echo: Echo, remove: bool = False) -> bool:
    """Claude Code's own CLI writes its config best, when it is installed (user scope)."""
    claude = shutil.which("claude")
    if claude is None or ctx.scope != "user":
        return False
    listed = subprocess.run(
        [claude, "mcp", "get", NAME], capture_output=True, text=True, timeout=30
    )
    if remove:
        if listed.returncode == 0:
            subprocess.run([claude, "mcp", "remove", "-s", "user", NAME], check=True, timeout=30)
            echo("removed the MCP server with `claude mcp remove`")
        return True
    if listed.returncode == 0:
        echo("Claude Code already has the brainrouter MCP server")
        return True
    spec = json.dumps({"type": "stdio", "command": ctx.executable, "args": ["mcp"]})
    subprocess.run([claude, "mcp", "add-json", "-s", "user", NAME, spec], check=True, timeout=30)
    echo("registered the MCP server with `claude mcp add-json`")
    return True


def install(
    harness: str,
    ctx: Context,
    *,
    yes: bool,
    dry_run: bool,
    echo: Echo,
    confirm: Confirm,
    ledger: Ledger | None = None,
) -> Report:
    ledger = ledger or Ledger()
    edits = EDITS[harness](ctx)
    if harness == "claude" and not dry_run and _claude_cli(ctx, echo):
        edits = edits[1:]  # the CLI did the MCP part; the shell rc line is still ours
    changes = [plan(e.path, e.fmt, e.add) for e in edits]  # raises ConfigFileError, nothing written
    return _write(
        changes,
        harness,
        yes=yes,
        dry_run=dry_run,
        echo=echo,
        confirm=confirm,
        commit=lambda c: apply(c, ledger, harness),
    )


def uninstall(
    harness: str,
    ctx: Context,
    *,
    yes: bool,
    dry_run: bool,
    echo: Echo,
    confirm: Confirm,
    ledger: Ledger | None = None,
) -> Report:
    ledger = ledger or Ledger()
    edits = EDITS[harness](ctx)
    if harness == "claude" and not dry_run and _claude_cli(ctx, echo, remove=True):
        edits = edits[1:]
    changes = [restore_plan(e.path, e.fmt, e.remove, ledger) for e in edits if e.path.exists()]

    def commit(change: Change) -> object:
        backup = write(change)
        forget(ledger, change.path)
        return backup

    return _write(
        changes, harness, yes=yes, dry_run=dry_run, echo=echo, confirm=confirm, commit=commit
    )


def _write(
    changes: list[Change],
    harness: str,
    *,
    yes: bool,
    dry_run: bool,
    echo: Echo,
    confirm: Confirm,
    commit: Callable[[Change], object],
) -> Report:
    report = Report()
    pending = [c for c in changes if c.changed]
    if not pending:
        echo(f"{harness}: nothing to change")
        report.nothing_to_do = True
        return report
    _show(pending, echo)
    if dry_run:
        echo("(dry run: nothing written)")
        return report
    if not yes and not confirm(f"Apply these changes to {len(pending)} file(s)?"):
        echo("cancelled: nothing written")
        report.cancelled = True
        return report
    for change in pending:
        backup = commit(change)
        report.changed.append(str(change.path))
        if backup:
            report.backups.append(str(backup))
        echo(f"wrote {change.path}" + (f" (backup: {backup})" if backup else ""))
    return report


__all__ = ["ConfigFileError", "Report", "install", "uninstall"]
