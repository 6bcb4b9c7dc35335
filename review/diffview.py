"""A round's diff as the session page shows it: files, hunks and numbered lines, highlighted with
Pygments, the reviewer's findings anchored at their lines, and each file marked by what
changed since the previous round. The diff is the one the reviewer saw (redacted, shortened).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

LineKind = Literal["add", "del", "ctx", "note"]
Since = Literal["new", "changed", "same", "first"]
_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_CSS_CLASS = "hl"


@dataclass
class Line:
    kind: LineKind
    old: int | None
    new: int | None
    html: Markup
    findings: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FileDiff:
    path: str
    lines: list[Line] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)  # not at a shown line
    since: Since = "first"
    digest: str = ""


@dataclass
class RoundDiff:
    files: list[FileDiff]
    findings: list[dict[str, Any]]  # about no file shown
    gone: list[str]  # changed in the previous round, not in this one


def stylesheet() -> str:
    return str(HtmlFormatter(style="default").get_style_defs(f".{_CSS_CLASS}"))


@cache
def _lexer(path: str) -> Lexer:
    try:
        return get_lexer_for_filename(path, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False, ensurenl=False)


def _highlighted(text: str, path: str) -> Markup:
    # Pygments escapes everything it is given; the result is trusted markup.
    html = highlight(text, _lexer(path), HtmlFormatter(nowrap=True))
    return Markup(html.rstrip("\n"))


def _files(diff: str) -> list[FileDiff]:
    files: list[FileDiff] = []
    current: FileDiff | None = None
    old = new = 0
    chunks: dict[int, list[str]] = {}
    for raw in diff.splitlines():
        if raw.startswith("+++ "):
            path = raw[4:].removeprefix("b/")
            if path == "/dev/null" and current is not None:
                continue  # a deletion keeps the old name from the --- line
            if current is not None and current.path == "" and path:
                current.path = path
            continue
        if raw.startswith("--- "):
            current = FileDiff(path=raw[4:].removeprefix("a/").removeprefix("/dev/null"))
            files.append(current)
            chunks[id(current)] = []
            continue
        if raw.startswith("# deleted: "):
            current = FileDiff(path=raw[11:].rsplit(" (", 1)[0])
            files.append(current)
            chunks[id(current)] = [raw]
            current.lines.append(Line("note", None, None, Markup.escape(raw)))
            continue
        if current is None:
            continue
        chunks[id(current)].append(raw)
        match = _HUNK.match(raw)
        if match:
            old, new = int(match.group(1)), int(match.group(2))
            current.lines.append(Line("note", None, None, Markup.escape(raw)))
        elif raw.startswith("+"):
            current.lines.append(Line("add", None, new, _highlighted(raw[1:], current.path)))
            new += 1
        elif raw.startswith("-"):
            current.lines.append(Line("del", old, None, _highlighted(raw[1:], current.path)))
            old += 1
        elif raw.startswith(" "):
            current.lines.append(Line("ctx", old, new, _highlighted(raw[1:], current.path)))
            old, new = old + 1, new + 1
        else:  # "\ No newline at end of file", our own "[... omitted]" notes
            current.lines.append(Line("note", None, None, Markup.escape(raw)))
    for file in files:
        file.digest = hashlib.sha256("\n".join(chunks[id(file)]).encode()).hexdigest()
    return files


def _anchor(files: list[FileDiff], findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_path = {f.path: f for f in files}
    loose: list[dict[str, Any]] = []
    for finding in findings:
        file = by_path.get(str(finding.get("file") or ""))
        if file is None:
            loose.append(finding)
            continue
        line = finding.get("line")
        target = next(
            (ln for ln in file.lines if line is not None and ln.new == line and ln.kind != "del"),
            None,
        )
        (target.findings if target is not None else file.findings).append(finding)
    return loose


def view(
    diff: str | None, findings: list[dict[str, Any]], previous: str | None = None
) -> RoundDiff:
    files = _files(diff or "")
    loose = _anchor(files, findings)
    gone: list[str] = []
    if previous is not None:
        before = {f.path: f.digest for f in _files(previous)}
        for file in files:
            digest = before.get(file.path)
            file.since = (
                "new" if digest is None else ("same" if digest == file.digest else "changed")
            )
        shown = {f.path for f in files}
        gone = [path for path in before if path not in shown]
    return RoundDiff(files=files, findings=loose, gone=gone)
