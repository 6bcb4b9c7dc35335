"""JSONC rewritten in place: what install changes, and nothing else, is new text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_server.install.jsonc import loads, render

_SERVER = {"brainrouter": {"type": "local", "command": ["brainrouter", "mcp"]}}


def test_a_key_added_after_a_commented_last_value_keeps_the_comment_on_its_line() -> None:
    before = '{\n  "theme": "dark" // the best\n}\n'
    out = render(before, {"theme": "dark", "model": "brainrouter/auto"})
    assert out == '{\n  "theme": "dark", // the best\n  "model": "brainrouter/auto"\n}\n'


def test_the_file_indent_unit_is_used_for_new_keys() -> None:
    out = render('{\n\t"theme": "dark"\n}', {"theme": "dark", "mcp": _SERVER})
    assert '\n\t"mcp": {\n\t\t"brainrouter": {\n\t\t\t"type": "local",' in out


def test_an_object_holding_only_comments_gets_its_first_key_after_them() -> None:
    out = render("{\n  // nothing yet\n}\n", {"model": "m"})
    assert out == '{\n  // nothing yet\n  "model": "m"\n}\n'


def test_emptied_objects_keep_their_comments_and_close_up() -> None:
    assert render('{\n  // mine\n  "model": "m",\n}\n', {}) == "{\n  // mine\n}\n"
    assert render('{\n  "model": "m"\n}', {}) == "{}"


def test_a_changed_value_keeps_the_comments_around_it() -> None:
    out = render('{\n  "model": /* was */ "a", // why\n  "x": 1\n}', {"model": "b", "x": 1})
    assert out == '{\n  "model": /* was */ "b", // why\n  "x": 1\n}'


def test_a_number_that_becomes_a_boolean_is_rewritten() -> None:
    assert render('{"on": 1}', {"on": True}) == '{"on": true}'


def test_json5_spellings_the_user_wrote_are_kept() -> None:
    before = "{\n  unquoted: 'single', n: 0x10,\n}"
    out = render(before, {"unquoted": "single", "n": 16, "added": True})
    assert out.startswith("{\n  unquoted: 'single', n: 0x10,")
    assert loads(out) == {"unquoted": "single", "n": 16, "added": True}


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-100, 100) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
_OBJECTS = st.dictionaries(st.text(max_size=4), _JSON, max_size=4)


@settings(max_examples=150, deadline=None)
@given(_OBJECTS, _OBJECTS)
def test_any_rewrite_reads_back_as_the_new_data_with_the_head_comment_kept(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    before = "// head\n" + json.dumps(old, indent=2)
    out = render(before, new)
    assert json.dumps(loads(out), sort_keys=True) == json.dumps(new, sort_keys=True)
    assert out.startswith("// head\n")


def test_a_plan_that_turns_1_into_true_is_a_change(tmp_path: Path) -> None:
    """Python says 1 == True; a config file does not: the edit is written, not dropped."""
    from mcp_server.install.files import plan

    path = tmp_path / "settings.json"
    path.write_text('{"on": 1}\n')
    change = plan(path, "json", lambda doc: {**doc, "on": True})
    assert change.changed and json.loads(change.after or b"") == {"on": True}
    same = plan(path, "json", lambda doc: {**doc, "on": 1})
    assert not same.changed  # the same data keeps the bytes
