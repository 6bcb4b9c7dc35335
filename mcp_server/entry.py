"""The `brainrouter` console script. `brainrouter mcp` is what harnesses spawn and time: it
goes to the lean stdio front without importing the CLI (typer, pydantic-settings: ~0.2 s);
every other command goes to the typer app."""

from __future__ import annotations

import sys


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "mcp":
        from mcp_server.stdio_front import run

        sys.exit(run(sys.argv[2:]))
    from mcp_server.cli import app

    app()
