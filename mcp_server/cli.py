"""The `brainrouter` command."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from mcp_server.config import ConfigError, Settings, load_settings

app = typer.Typer(
    name="brainrouter",
    help="Makes AI coding agents review their own work, and routes their LLM traffic.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="YAML config file (default ~/.config/brainrouter/brainrouter.yaml)"
    ),
]


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        typer.echo(f"brainrouter: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command()
def mcp(
    config: ConfigOption = None,
    autostart: Annotated[
        bool,
        typer.Option(
            "--autostart/--no-autostart",
            help="Start the daemon in the background when none answers (else review in-process)",
        ),
    ] = True,
) -> None:
    """Serve the review tools over MCP stdio (what harnesses spawn:
    `claude mcp add brainrouter -- brainrouter mcp`). Tool calls go to the daemon."""
    settings = _settings(config)
    # stdout is the protocol channel: logs go to stderr only.
    logging.basicConfig(stream=sys.stderr, level=settings.log_level.upper())
    from mcp_server.relay import Relay
    from mcp_server.tools import build_mcp, process_cwd

    relay = Relay(settings, autostart=autostart, config_path=config)
    server = build_mcp(relay.backend, default_cwd=process_cwd())

    async def run() -> None:
        try:
            await server.run_stdio_async(show_banner=False, log_level=settings.log_level.upper())
        finally:
            await relay.aclose()

    asyncio.run(run())


@app.command()
def serve(config: ConfigOption = None) -> None:
    """Run the daemon: MCP over HTTP at /mcp, review pages at /review/, on 127.0.0.1:9099."""
    settings = _settings(config)
    logging.basicConfig(stream=sys.stderr, level=settings.log_level.upper())
    from mcp_server.daemon import serve as run_daemon
    from review.store import StoreError

    try:
        run_daemon(settings)
    except StoreError as exc:
        typer.echo(f"brainrouter: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command("config")
def show_config(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False,
) -> None:
    """Validate the configuration and print the values in force."""
    settings = _settings(config)
    data = settings.model_dump(mode="json")
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        import yaml

        typer.echo(yaml.safe_dump(data, sort_keys=False).rstrip())


@app.command()
def sessions(
    config: ConfigOption = None,
    status: Annotated[str | None, typer.Option(help="Only sessions in this state")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False,
) -> None:
    """List review sessions, newest first."""
    from mcp_server.wiring import ReviewRuntime

    runtime = ReviewRuntime(_settings(config))

    async def fetch() -> str:
        try:
            result = await (await runtime.service()).list_sessions(status=status, limit=limit)
        finally:
            await runtime.aclose()
        if as_json:
            return result.model_dump_json(indent=2)
        from rich.console import Console
        from rich.table import Table

        table = Table("session", "task", "status", "iter", "reviewer", "updated", "project")
        for s in result.sessions:
            table.add_row(
                s.session_id,
                s.task_id,
                s.status,
                f"{s.iteration}/{s.max_iterations}",
                s.reviewer or "",
                f"{s.updated_at:%Y-%m-%d %H:%M}" if s.updated_at else "",
                s.project_dir or "",
            )
        Console().print(table)
        return ""

    out = asyncio.run(fetch())
    if out:
        typer.echo(out)


@app.command()
def version() -> None:
    """Print brainrouter's version."""
    from importlib.metadata import version as pkg_version

    typer.echo(pkg_version("brainrouter"))


def main() -> None:  # pragma: no cover - console script entry
    app()
