"""Set-up commands: `install`/`uninstall <harness>`, `service`, `doctor`. Registered on the
main `brainrouter` app by cli.py; heavy imports happen inside the commands."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from mcp_server.install.harnesses import Context

from mcp_server.cli import ConfigOption, _settings, app
from mcp_server.install import HARNESSES

HarnessArg = Annotated[str, typer.Argument(help=f"One of: {', '.join(HARNESSES)}")]


def _executable() -> str:
    from mcp_server.install.harnesses import brainrouter_executable

    return brainrouter_executable()


def _context(config: Path | None, scope: str, shell_rc: bool) -> Context:
    from mcp_server.install.harnesses import Context

    settings = _settings(config)
    if scope not in ("user", "project"):
        typer.echo("brainrouter: --scope must be user or project", err=True)
        raise typer.Exit(2)
    return Context.from_env(
        _executable(),
        settings.server.loopback_url,
        int(settings.review.round_timeout_s) + 60,
        scope=scope,
        shell_rc=shell_rc,
    )


def _check(harness: str) -> None:
    if harness not in HARNESSES:
        typer.echo(
            f"brainrouter: unknown harness {harness!r}; choose one of {', '.join(HARNESSES)}",
            err=True,
        )
        raise typer.Exit(2)


YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Show the changes, write nothing")]
ScopeOption = Annotated[str, typer.Option(help="user or project (claude)")]


def _perform(
    action: str,
    harness: str,
    yes: bool,
    dry_run: bool,
    shell_rc: bool,
    scope: str,
    config: Path | None,
) -> None:
    from mcp_server.install import run
    from mcp_server.install.files import ConfigFileError

    _check(harness)
    ctx = _context(config, scope, shell_rc)
    perform = run.install if action == "install" else run.uninstall
    try:
        report = perform(
            harness, ctx, yes=yes, dry_run=dry_run, echo=typer.echo, confirm=typer.confirm
        )
    except ConfigFileError as exc:
        typer.echo(f"brainrouter: {exc}", err=True)
        raise typer.Exit(1) from None
    if action == "install" and not dry_run and not report.cancelled and not _unit_path().exists():
        _offer_service(yes, config)


def _offer_service(yes: bool, config: Path | None) -> None:
    """The harness now asks the daemon for its model: `brainrouter mcp` starts it when the
    harness starts, and a service keeps it up from login on."""
    question = "Also run the daemon as a systemd user service, so it is up from login on?"
    if yes or not sys.stdin.isatty():
        typer.echo(
            "The daemon starts when the harness starts brainrouter's MCP server; to have it up "
            "from login on: brainrouter service install"
        )
    elif typer.confirm(question, default=False):
        service("install", start=True, config=config)


@app.command()
def install(
    harness: HarnessArg,
    yes: YesOption = False,
    dry_run: DryRunOption = False,
    shell_rc: Annotated[
        bool, typer.Option("--shell-rc", help="claude: add ANTHROPIC_BASE_URL to your shell rc")
    ] = False,
    scope: ScopeOption = "user",
    config: ConfigOption = None,
) -> None:
    """Point a harness at the proxy and register the MCP server in its own config."""
    _perform("install", harness, yes, dry_run, shell_rc, scope, config)


@app.command()
def uninstall(
    harness: HarnessArg,
    yes: YesOption = False,
    dry_run: DryRunOption = False,
    shell_rc: Annotated[
        bool, typer.Option("--shell-rc", help="claude: also remove the shell rc line")
    ] = False,
    scope: ScopeOption = "user",
    config: ConfigOption = None,
) -> None:
    """Remove exactly what `install` added (the original bytes, when the file is untouched since)."""
    _perform("uninstall", harness, yes, dry_run, shell_rc, scope, config)


UNIT = """[Unit]
Description=brainrouter: review loop and routing proxy for coding agents
After=network.target

[Service]
ExecStart={exe} serve{config}
Restart=on-failure
RestartSec=3
# systemd's default soft limit (1024 open files) is less than a busy proxy needs.
LimitNOFILE=65536

[Install]
WantedBy=default.target
"""


def _unit_path() -> Path:
    home = Path(os.environ.get("HOME") or Path.home())
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    return config_home / "systemd" / "user" / "brainrouter.service"


@app.command()
def service(
    action: Annotated[str, typer.Argument(help="install, uninstall or status")],
    start: Annotated[
        bool, typer.Option("--start/--no-start", help="enable and start it now")
    ] = True,
    config: ConfigOption = None,
) -> None:
    """A systemd user unit for the daemon."""
    from mcp_server.install.files import atomic_write

    unit = _unit_path()
    systemctl = shutil.which("systemctl")

    def run(*args: str) -> None:
        if systemctl and start:
            subprocess.run([systemctl, "--user", *args], check=False, timeout=60)

    if action == "install":
        config_arg = f" --config {config.resolve()}" if config else ""
        atomic_write(unit, UNIT.format(exe=_executable(), config=config_arg).encode())
        typer.echo(f"wrote {unit}")
        run("daemon-reload")
        run("enable", "--now", "brainrouter.service")
        typer.echo("To keep it running without a login session: loginctl enable-linger $USER")
    elif action == "uninstall":
        run("disable", "--now", "brainrouter.service")
        unit.unlink(missing_ok=True)
        run("daemon-reload")
        typer.echo(f"removed {unit}")
    elif action == "status":
        typer.echo(f"unit file: {unit} ({'present' if unit.exists() else 'missing'})")
        if systemctl:
            subprocess.run(
                [systemctl, "--user", "--no-pager", "status", "brainrouter.service"],
                check=False,
                timeout=30,
            )
    else:
        typer.echo("brainrouter: service action must be install, uninstall or status", err=True)
        raise typer.Exit(2)


@app.command()
def doctor(config: ConfigOption = None) -> None:
    """Check config, database, model, upstreams, the daemon and harness registrations."""
    from mcp_server.doctor import run_checks

    problems = run_checks(config, typer.echo)
    raise typer.Exit(1 if problems else 0)
