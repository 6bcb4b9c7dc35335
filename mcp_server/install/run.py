"""Install and uninstall, file by file: plan everything first (a file that cannot be parsed
stops it all, before anything is written), show the diff, ask, then write."""

from __future__ import annotations

import json
import shlex
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
from mcp_server.install.harnesses import EDITS, NAME, Context, Edit

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


@dataclass
class Command:
    """A harness CLI call that makes part of the change (shown and asked for like a diff)."""

    argv: list[str]
    done: str

    def run(self) -> None:
        subprocess.run(self.argv, check=True, timeout=60, capture_output=True)


def _claude_cli(ctx: Context, remove: bool = False) -> tuple[bool, Command | None]:
    """Claude Code's own CLI writes its config best, when it is installed (user scope).
    Returns (the CLI handles the MCP part, the command to run if anything must change);
    only `claude mcp get` runs before the user has said yes."""
    claude = shutil.which("claude")
    if claude is None or ctx.scope != "user":
        return False, None
    listed = subprocess.run(
        [claude, "mcp", "get", NAME], capture_output=True, text=True, timeout=30
    )
    present = listed.returncode == 0
    if remove:
        argv = [claude, "mcp", "remove", "-s", "user", NAME]
        return True, Command(
            argv, "removed the MCP server with `claude mcp remove`"
        ) if present else None
    if present:
        return True, None
    spec = json.dumps({"type": "stdio", "command": ctx.executable, "args": ["mcp"]})
    argv = [claude, "mcp", "add-json", "-s", "user", NAME, spec]
    return True, Command(argv, "registered the MCP server with `claude mcp add-json`")


def _edits_and_commands(
    harness: str, ctx: Context, remove: bool
) -> tuple[list[Edit], list[Command]]:
    """The file edits to make, and the harness CLI calls that replace some of them."""
    edits = EDITS[harness](ctx)
    if harness != "claude":
        return edits, []
    by_cli, command = _claude_cli(ctx, remove=remove)
    if not by_cli:
        return edits, []
    # The CLI does the MCP part; the shell rc line is still ours.
    return edits[1:], [command] if command else []


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
    edits, commands = _edits_and_commands(harness, ctx, remove=False)
    changes = [plan(e.path, e.fmt, e.add) for e in edits]  # raises ConfigFileError, nothing written
    return _write(
        changes,
        harness,
        yes=yes,
        dry_run=dry_run,
        echo=echo,
        confirm=confirm,
        commit=lambda c: apply(c, ledger, harness),
        commands=commands,
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
    edits, commands = _edits_and_commands(harness, ctx, remove=True)
    changes = [restore_plan(e.path, e.fmt, e.remove, ledger) for e in edits if e.path.exists()]

    def commit(change: Change) -> object:
        backup = write(change)
        forget(ledger, change.path)
        return backup

    return _write(
        changes,
        harness,
        yes=yes,
        dry_run=dry_run,
        echo=echo,
        confirm=confirm,
        commit=commit,
        commands=commands,
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
    commands: list[Command] | None = None,
) -> Report:
    report = Report()
    pending = [c for c in changes if c.changed]
    commands = commands or []
    if not pending and not commands:
        echo(f"{harness}: nothing to change")
        report.nothing_to_do = True
        return report
    _show(pending, echo)
    for command in commands:
        echo("will run: " + shlex.join(command.argv))
    if dry_run:
        echo("(dry run: nothing written)")
        return report
    what = [f"{len(pending)} file(s)"] if pending else []
    what += [f"{len(commands)} command(s)"] if commands else []
    if not yes and not confirm(f"Apply these changes ({' and '.join(what)})?"):
        echo("cancelled: nothing written")
        report.cancelled = True
        return report
    for command in commands:
        command.run()
        echo(command.done)
    for change in pending:
        backup = commit(change)
        report.changed.append(str(change.path))
        if backup:
            report.backups.append(str(backup))
        done = "removed" if change.after is None else "wrote"
        echo(f"{done} {change.path}" + (f" (backup: {backup})" if backup else ""))
    return report


__all__ = ["ConfigFileError", "Report", "install", "uninstall"]
