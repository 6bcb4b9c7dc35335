"""JSONC edited in place: the keys install changes are rewritten in the file's own parse tree
(json-five's round-trip model), so the user's comments, key order, quoting and indentation
around them stay as they were (opencode.jsonc is a file people annotate)."""

from __future__ import annotations

import json
import re
from typing import Any, cast

import json5
from json5.dumper import ModelDumper
from json5.loader import ModelLoader
from json5.model import (
    Comment,
    DoubleQuotedString,
    Identifier,
    JSONObject,
    Node,
    String,
    Value,
)

_INDENT = re.compile(r"^([ \t]+)\S", re.MULTILINE)


def loads(text: str) -> Any:
    return json5.loads(text)


def _dump(node: Node) -> str:
    # ModelDumper is json-five's own, though its stubs type `dumper` as the plain one.
    return str(json5.dumps(node, dumper=cast(Any, ModelDumper())))


def _key_name(key: Node) -> str:
    if isinstance(key, Identifier):
        return str(key.name)
    if isinstance(key, String):
        return str(key.characters)
    raise TypeError(f"unexpected key {key!r}")


def _python(node: Value) -> Any:
    """The data a subtree holds (dumped without its surrounding comments, then read)."""
    before, after = node.wsc_before, node.wsc_after
    node.wsc_before, node.wsc_after = [], []
    try:
        return json5.loads(_dump(node))
    finally:
        node.wsc_before, node.wsc_after = before, after


def canonical(value: Any) -> str:
    """A document's data as comparable text: equal data, equal text (Python says `1 == True`,
    a config file does not). Values JSON lacks (TOML dates) compare by their text."""
    return json.dumps(value, sort_keys=True, default=str)


def _model(value: Any, unit: str, depth: int) -> Value:
    """A fresh subtree for `value`, laid out like the file (its indent unit, at `depth`)."""
    text = json.dumps(value, indent=unit, ensure_ascii=False).replace("\n", "\n" + unit * depth)
    node: Value = json5.loads(text, loader=ModelLoader()).value
    node.wsc_before = [" "]
    return node


def _split_trailing(items: list[str | Comment]) -> tuple[list[str | Comment], list[str | Comment]]:
    """Comments after a value (kept on its line) and the whitespace after the last of them."""
    last = max((i for i, item in enumerate(items) if isinstance(item, Comment)), default=-1)
    return items[: last + 1], items[last + 1 :]


def _append(node: JSONObject, key: str, value: Any, unit: str, depth: int) -> None:
    key_node = DoubleQuotedString(key, raw_value=json.dumps(key, ensure_ascii=False))
    value_node = _model(value, unit, depth)
    newline = "\n" + unit * depth
    if node.values:
        last = node.values[-1]
        comments, tail = _split_trailing(last.wsc_after)
        # A comment after the old last value stays on its line, after the comma we add.
        last.wsc_after = []
        key_node.wsc_before = [*comments, newline]
        value_node.wsc_after = tail
    else:
        node.leading_wsc = _split_trailing(node.leading_wsc)[0]
        key_node.wsc_before = [newline]
        value_node.wsc_after = ["\n" + unit * (depth - 1)]
    node.keys.append(key_node)
    node.values.append(value_node)


def _merge(node: JSONObject, new: dict[str, Any], unit: str, depth: int) -> None:
    had_values = bool(node.values)
    for index in reversed(range(len(node.keys))):
        if _key_name(node.keys[index]) not in new:
            removed = node.values[index]
            del node.keys[index], node.values[index]
            if index == len(node.values) and node.values:
                # The closing brace's whitespace lived after the removed last value.
                node.values[-1].wsc_after = _split_trailing(removed.wsc_after)[1]
    if had_values and not node.values:  # emptied: its comments stay, the braces close up
        node.trailing_comma = None
        comments = _split_trailing(node.leading_wsc)[0]
        node.leading_wsc = [*comments, "\n" + unit * (depth - 1)] if comments else []
    present = {_key_name(key): i for i, key in enumerate(node.keys)}
    for key, value in new.items():
        if key not in present:
            _append(node, key, value, unit, depth)
            continue
        index = present[key]
        old = node.values[index]
        if canonical(_python(old)) == canonical(value):
            continue
        if isinstance(old, JSONObject) and isinstance(value, dict):
            _merge(old, value, unit, depth + 1)
            continue
        fresh = _model(value, unit, depth)
        fresh.wsc_before, fresh.wsc_after = old.wsc_before, old.wsc_after
        node.values[index] = fresh


def render(before: str, new: dict[str, Any]) -> str:
    """`before` (JSONC text) rewritten to hold `new`, with everything of it that `new` keeps."""
    model = json5.loads(before, loader=ModelLoader())
    root = model.value
    if not isinstance(root, JSONObject):
        raise TypeError("the top level is not an object")
    match = _INDENT.search(before)
    _merge(root, new, match.group(1) if match else "  ", 1)
    return _dump(model)
