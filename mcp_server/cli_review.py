"""Review commands: `sessions` (list) and `resolve` (a human's verdict on the command line).
Registered on the main `brainrouter` app by cli.py; heavy imports happen inside the commands."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from mcp_server.cli import ConfigOption, _settings, app


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

        table = Table("session", "task", "status", "round", "reviewer", "updated", "project")
        for s in result.sessions:
            table.add_row(
                s.session_id,
                s.task_id,
                s.status,
                f"{s.cycle_round}/{s.max_iterations}"
                + (f" ({s.iteration} in all)" if s.iteration != s.cycle_round else ""),
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
def resolve(
    session: Annotated[str, typer.Argument(help="The session id or the taskId")],
    feedback: Annotated[
        str,
        typer.Argument(
            help="lgtm / ok / approved / looks good / ship it approve; any other text "
            "is sent back to the agent as the revision to make"
        ),
    ],
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the session as JSON")] = False,
) -> None:
    """Give a human's verdict on a review session (recorded as given on the command line)."""
    from mcp_server.wiring import ReviewRuntime
    from review.errors import ReviewError
    from review.status import VerdictSource

    runtime = ReviewRuntime(_settings(config))

    async def run() -> str:
        try:
            service = await runtime.service()
            details = await service.resolve(session, feedback, VerdictSource.CLI)
        finally:
            await runtime.aclose()
        if as_json:
            return details.model_dump_json(indent=2)
        return f"{details.task_id}: {details.status} (by cli) {details.review_url}"

    try:
        typer.echo(asyncio.run(run()))
    except ReviewError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
