"""What a chat message asks for: the seed's `!br` commands, or a task for the agent. Pure: text
in, a command out; unknown commands are `Help` (they never run anything)."""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "!br"
ROUTES = ("auto", "local", "cloud")

HELP = """\
brainrouter bridge — send a task as plain text (or `!br <task>`), or:
`!br ping` · `!br status` · `!br reset` (stop the run, forget the conversation)
`!br auto|local|cloud` · `!br <model-name>` (a name with - or .) · `!br list`
`!br model <name> <task>` (one task on that model)
`!br ls` · `!br cd <dir>` · `!br ..` · `!br mkdir <name>`
`!br review` · `!br review auto|local|cloud` · `!br help`"""


@dataclass(frozen=True)
class Task:
    text: str
    model: str | None = None  # a one-off model (`!br model <name> <task>`)


@dataclass(frozen=True)
class Command:
    name: str  # ping reset status route list ls cd up mkdir review help
    argument: str = ""


Parsed = Task | Command | None  # None: nothing to do (an empty message)


def _is_model_name(word: str) -> bool:
    return ("-" in word or "." in word) and not word.startswith(("-", ".")) and word.isprintable()


def parse(text: str) -> Parsed:
    stripped = text.strip()
    if not stripped:
        return None
    head, _, rest = stripped.partition(" ")
    if head.lower() != PREFIX:
        return Task(stripped)
    words = rest.split()
    if not words:
        return Command("help")
    verb, argument = words[0].lower(), rest.strip()[len(words[0]) :].strip()
    if verb in ("ping", "reset", "status", "list", "ls", "help", "?") and not argument:
        return Command("help" if verb == "?" else verb)
    if verb in ROUTES and not argument:
        return Command("route", verb)
    if verb == "..":
        return Command("up") if not argument else Command("help")
    if verb in ("cd", "mkdir"):
        return Command(verb, argument) if argument else Command("help")
    if verb == "review":
        if not argument or argument.lower() in ROUTES:
            return Command("review", argument.lower())
        return Command("help")
    if verb == "model":
        name, _, task = argument.partition(" ")
        if name and task.strip():
            return Task(task.strip(), model=name)
        return Command("route", name) if name and _is_model_name(name) else Command("help")
    if len(words) == 1 and _is_model_name(words[0]):
        return Command("route", words[0])
    if verb.isalpha() and len(words) == 1 and verb.isascii():
        return Command("help")  # an unknown command word: help, never a task
    return Task(rest.strip())
