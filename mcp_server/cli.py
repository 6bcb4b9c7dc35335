"""The `brainrouter` command."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from mcp_server.config import LOG_LEVELS, ConfigError, Settings, load_settings

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
    `claude mcp add brainrouter -- brainrouter mcp`). Tool calls go to the daemon, which is
    started at once when none answers (with --autostart)."""
    from mcp_server.stdio_front import Front

    args = ["--config", str(config)] if config else []
    sys.exit(Front([*args, "--autostart" if autostart else "--no-autostart"]).run())


@app.command("mcp-backend", hidden=True)
def mcp_backend(
    config: ConfigOption = None,
    autostart: Annotated[bool, typer.Option("--autostart/--no-autostart")] = True,
) -> None:
    """The full MCP stdio server behind `brainrouter mcp`'s front (mcp_server/stdio_front.py)."""
    settings = _settings(config)
    # stdout is the protocol channel: logs go to stderr only.
    logging.basicConfig(stream=sys.stderr, level=settings.log_level.upper())
    from mcp_server.relay import Relay
    from mcp_server.tools import build_mcp, process_cwd

    relay = Relay(settings, autostart=autostart, config_path=config)
    server = build_mcp(relay.backend, default_cwd=process_cwd())

    async def run() -> None:
        # The daemon is the harness's model provider too: find or start it now, not on the
        # first tool call, which never comes while the model cannot answer.
        warm = asyncio.ensure_future(relay.backend())
        warm.add_done_callback(lambda t: t.cancelled() or t.exception())
        try:
            await server.run_stdio_async(show_banner=False, log_level=settings.log_level.upper())
        finally:
            warm.cancel()
            await relay.aclose()

    asyncio.run(run())


@app.command()
def serve(
    config: ConfigOption = None,
    log_level: Annotated[
        str | None,
        typer.Option(
            "--log-level", help="debug, info, warning, error or critical (instead of log_level)"
        ),
    ] = None,
) -> None:
    """Run the daemon: MCP over HTTP at /mcp, review pages at /review/, on 127.0.0.1:9099."""
    settings = _settings(config)
    if log_level is not None:
        if log_level.lower() not in LOG_LEVELS:
            typer.echo(f"brainrouter: --log-level must be one of {', '.join(LOG_LEVELS)}", err=True)
            raise typer.Exit(2)
        settings = settings.model_copy(update={"log_level": log_level.lower()})
    logging.basicConfig(stream=sys.stderr, level=settings.log_level.upper())
    # httpx logs every request's URL at info: the daemon's own calls (signal-cli, upstreams)
    # are not the user's traffic, and their endpoints stay out of the log unless debugging.
    if settings.log_level != "debug":
        logging.getLogger("httpx").setLevel(logging.WARNING)
    from mcp_server.admin import TokenError
    from mcp_server.bridge.service import BridgeConfigError
    from mcp_server.daemon import RemoteBindRefused
    from mcp_server.daemon import serve as run_daemon
    from review.store import StoreError

    try:
        run_daemon(settings)
    except (StoreError, RemoteBindRefused, TokenError, BridgeConfigError) as exc:
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
def calibrate(
    data: Annotated[
        list[Path], typer.Option("--data", help="JSONL files with prompts (labels not needed)")
    ],
    cloud_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of requests to send to the cloud")
    ] = 0.3,
    write: Annotated[
        bool,
        typer.Option(
            "--write",
            help="Set proxy.classifier.threshold in the config file (a backup of it is kept)",
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Find the classifier threshold that sends a target share of requests to the cloud."""
    import asyncio as aio

    from proxy.classifier import build_classifier
    from proxy.classifier.evaluation import DataError, features_of

    settings = _settings(config)
    classifier = build_classifier(settings.proxy)
    prompts: list[str] = []
    for path in data:
        if not path.is_file():
            typer.echo(f"brainrouter: {path}: no such file", err=True)
            raise typer.Exit(2)
        for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
            if line.strip():
                try:
                    prompts.append(str(json.loads(line)["prompt"]))
                except (ValueError, KeyError, TypeError):
                    typer.echo(
                        f"brainrouter: {path}:{number}: expected a JSON object with a prompt",
                        err=True,
                    )
                    raise typer.Exit(2) from None

    async def scores() -> list[float]:
        return [(await classifier.classify(features_of(p))).score for p in prompts]

    try:
        ordered = sorted(aio.run(scores()))
    except DataError as exc:  # pragma: no cover - defensive
        typer.echo(f"brainrouter: {exc}", err=True)
        raise typer.Exit(2) from None
    if not ordered:
        typer.echo("brainrouter: no prompts found", err=True)
        raise typer.Exit(2)
    index = min(len(ordered) - 1, max(0, round((1 - cloud_share) * len(ordered))))
    threshold = ordered[index]
    typer.echo(
        f"threshold {threshold:.4f} sends {cloud_share:.0%} of {len(ordered)} prompts to the cloud"
    )
    if write:
        from mcp_server.config import writable_config_file
        from mcp_server.install.files import ConfigFileError, set_yaml_key

        target = writable_config_file(config)
        try:
            backup = set_yaml_key(target, ("proxy", "classifier", "threshold"), round(threshold, 4))
        except (ConfigFileError, OSError) as exc:
            typer.echo(f"brainrouter: {exc}", err=True)
            raise typer.Exit(1) from None
        kept = f" (the old file is kept as {backup})" if backup else ""
        typer.echo(f"wrote proxy.classifier.threshold: {threshold:.4f} to {target}{kept}")
        typer.echo(
            "a running daemon uses it after a restart (systemctl --user restart brainrouter)"
        )
        return
    typer.echo(
        f"set it in brainrouter.yaml (or run again with --write):\n"
        f"  proxy:\n    classifier:\n      threshold: {threshold:.4f}"
    )
    typer.echo(f"or: export BRAINROUTER_PROXY__CLASSIFIER__THRESHOLD={threshold:.4f}")


@app.command()
def token() -> None:
    """Print the admin token (made on first use, kept 0600) that ops endpoints require."""
    from mcp_server.admin import TokenError, load_or_create_token, token_path

    try:
        typer.echo(load_or_create_token())
    except TokenError as exc:
        typer.echo(f"brainrouter: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"(stored in {token_path()})", err=True)


@app.command()
def version() -> None:
    """Print brainrouter's version."""
    from importlib.metadata import version as pkg_version

    typer.echo(pkg_version("brainrouter"))


def main() -> None:  # pragma: no cover - console script entry
    app()


# The set-up commands (install, uninstall, service, doctor) live in their own module.
from mcp_server import cli_eval, cli_review, cli_setup  # noqa: E402, F401
