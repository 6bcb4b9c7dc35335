"""Whether another local user may read a directory (review/access.py)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from review.access import readable_by

NOBODY = 65534


@pytest.fixture
def base() -> Iterator[Path]:
    # Under /tmp itself: pytest's own tmp dirs are 0700, which nobody else can search.
    path = Path(tempfile.mkdtemp(dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_modes(base: Path) -> None:
    open_dir = base / "open"
    open_dir.mkdir(mode=0o755)
    private = base / "private"
    private.mkdir(mode=0o700)
    inside_private = private / "project"
    inside_private.mkdir(mode=0o755)
    search_only = base / "search-only"
    search_only.mkdir(mode=0o711)
    (search_only / "project").mkdir(mode=0o755)
    write_only = base / "no-read"
    write_only.mkdir(mode=0o733)
    assert readable_by(open_dir, NOBODY)
    assert not readable_by(private, NOBODY)
    assert not readable_by(inside_private, NOBODY)  # a parent it cannot search
    assert readable_by(search_only / "project", NOBODY)
    assert not readable_by(write_only, NOBODY)
    assert not readable_by(base / "missing", NOBODY)
    assert readable_by(private, 0)
