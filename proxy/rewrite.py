"""Local-mode prompt rewrite (P9): harness system prompts (6-27 k characters) drown small
local models. The harness's own boilerplate is replaced by a lean prompt with anti-loop
directives, but what the agent needs survives: the environment (working directory,
platform), the project's instructions (AGENTS.md, CLAUDE.md...) and what is said about its
tools (MCP servers, deferred tools); tool definitions are kept as they are."""

from __future__ import annotations

import re
from typing import Any

from proxy.formats import FORMATS
from proxy.settings import Protocol

# A section starts at a markdown heading, an XML-ish block harnesses use, or an instructions
# file quoted by the harness; it is kept when its head or body says it is one of the above.
_SECTION_START = re.compile(
    r"^(?:#{1,4} |<env>|<environment_context>|<available-deferred-tools>|Instructions from: |"
    r"Contents of |# AGENTS\.md)",
    re.M,
)
_INSTRUCTION_FILES = re.compile(r"^(?:Instructions from: |Contents of \S+\.md)", re.M)
_KEEP_HEAD = re.compile(
    r"environment|<env>|instructions from|contents of|agents\.md|claude\.md|deferred|mcp",
    re.I,
)
_KEEP_BODY = re.compile(r"working directory:|<cwd>|mcp__|request_review|\bMCP server", re.I)
_MAX_KEPT_CHARS = 8000


def kept_context(texts: list[str]) -> str:
    """From the harness's system texts, the sections the agent needs (see the module doc)."""
    kept: list[str] = []
    for text in texts:
        # Quoted instruction files have headings of their own: from the first one to the end
        # (harnesses append them last), everything is the project's.
        quoted = _INSTRUCTION_FILES.search(text)
        if quoted:
            kept.append(text[quoted.start() :].strip())
            text = text[: quoted.start()]
        starts = [m.start() for m in _SECTION_START.finditer(text)]
        bounds = zip([0, *starts], [*starts, len(text)], strict=True)
        for start, end in bounds:
            section = text[start:end].strip()
            if not section:
                continue
            head = section.split("\n", 1)[0]
            if _KEEP_HEAD.search(head) or _KEEP_BODY.search(section):
                kept.append(section)
    joined = "\n\n".join(dict.fromkeys(kept))
    if len(joined) > _MAX_KEPT_CHARS:
        joined = joined[:_MAX_KEPT_CHARS] + "\n[... shortened]"
    return joined


def _lean(lean_prompt: str, texts: list[str]) -> str:
    context = kept_context(texts)
    if not context:
        return lean_prompt
    return f"{lean_prompt}\n\nFrom the harness's instructions (environment, project, tools):\n\n{context}"


def rewrite(protocol: Protocol, body: dict[str, Any], lean_prompt: str) -> dict[str, Any]:
    """The body with the lean prompt, plus what it keeps, as its only system prompt."""
    wire = FORMATS[protocol]
    texts, rest = wire.split_system(body)
    return wire.with_system(rest, _lean(lean_prompt, texts))
