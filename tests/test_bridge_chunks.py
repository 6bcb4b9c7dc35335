"""Answers cut to a platform's message limit: at line ends, code blocks whole when they fit,
re-fenced when they do not; nothing lost."""

from __future__ import annotations

import pytest

from mcp_server.bridge.chunks import chunk


def _words(parts: list[str]) -> list[str]:
    return " ".join(parts).replace("```python", " ").replace("```", " ").split()


def test_short_text_is_one_message() -> None:
    assert chunk("hello\nworld", 2000) == ["hello\nworld"]
    assert chunk("\n\n", 2000) == []


def test_every_message_is_within_the_limit_and_nothing_is_lost() -> None:
    text = "\n".join(f"line {i} " + "word " * (i % 30) for i in range(400))
    parts = chunk(text, 1500)
    assert len(parts) > 1 and all(len(p) <= 1500 for p in parts)
    assert _words(parts) == text.split()


def test_a_code_block_that_fits_is_never_cut() -> None:
    block = "```python\n" + "\n".join(f"print({i})" for i in range(100)) + "\n```"
    text = "a" * 1200 + "\n" + block + "\nafter"
    parts = chunk(text, 2000)
    assert len(parts) == 2 and parts[0] == "a" * 1200
    assert parts[1] == block + "\nafter"  # moved whole to the next message
    assert all(p.count("```") % 2 == 0 for p in parts)  # every message renders on its own


def test_a_block_longer_than_a_message_is_re_fenced_at_line_ends() -> None:
    block = "```python\n" + "\n".join(f"print({i})" for i in range(600)) + "\n```"
    parts = chunk("Here:\n" + block + "\nDone.", 1000)
    assert all(len(p) <= 1000 for p in parts)
    assert all(p.count("```") % 2 == 0 for p in parts)
    code = [line for p in parts for line in p.splitlines() if line.startswith("print(")]
    assert code == [f"print({i})" for i in range(600)]


def test_a_word_longer_than_a_message_is_cut_anyway() -> None:
    parts = chunk("x" * 4500, 2000)
    assert [len(p) for p in parts] == [2000, 2000, 500]


def test_a_limit_too_small_for_a_fence_is_refused() -> None:
    with pytest.raises(ValueError, match="under 20"):
        chunk("hi", 10)
