"""`!br` commands: each parses to what the seed's table says; anything else is a task or,
for an unknown command word, help (never a task)."""

from __future__ import annotations

import pytest

from mcp_server.bridge.commands import Command, Task, parse


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("!br ping", Command("ping")),
        ("!br reset", Command("reset")),
        ("!br status", Command("status")),
        ("!br auto", Command("route", "auto")),
        ("!br local", Command("route", "local")),
        ("!br CLOUD", Command("route", "cloud")),
        ("!br gemma-4-26b-a4b", Command("route", "gemma-4-26b-a4b")),
        ("!br qwen3.5", Command("route", "qwen3.5")),
        ("!br list", Command("list")),
        ("!br model qwen-coder fix the bug", Task("fix the bug", model="qwen-coder")),
        ("!br model qwen-coder", Command("route", "qwen-coder")),  # the seed's legacy form
        ("!br ls", Command("ls")),
        ("!br cd src/app", Command("cd", "src/app")),
        ("!br cd my folder", Command("cd", "my folder")),
        ("!br ..", Command("up")),
        ("!br mkdir notes", Command("mkdir", "notes")),
        ("!br review", Command("review")),
        ("!br review local", Command("review", "local")),
        ("!br help", Command("help")),
        ("!br ?", Command("help")),
        ("!br", Command("help")),
        ("!br frobnicate", Command("help")),  # unknown: help, never run
        ("!br review maybe", Command("help")),
        ("!br cd", Command("help")),
        ("!br ping now", Task("ping now")),  # a sentence, not the command
        ("!br add a test for parse()", Task("add a test for parse()")),
        ("fix the failing test", Task("fix the failing test")),
        ("  ", None),
        ("!BR status", Command("status")),
    ],
)
def test_parse(text: str, parsed: object) -> None:
    assert parse(text) == parsed
