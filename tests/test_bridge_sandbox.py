"""Where a chat may send the agent: inside the root only, symlinks resolved, plain names."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_server.bridge.sandbox import OutsideRoot, Sandbox


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "root" / "app" / "src").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    return tmp_path / "root"


def test_cd_within_the_root(root: Path) -> None:
    box = Sandbox(root)
    assert box.cd(root, "app/src") == root / "app" / "src"
    assert box.up(root / "app") == root
    assert box.shown(root / "app") == "~/app" and box.shown(root) == "~"


@pytest.mark.parametrize("target", ["..", "../outside", "/", "/etc", "app/../../outside", "a\x00b"])
def test_cd_out_of_the_root_is_refused(root: Path, target: str) -> None:
    with pytest.raises(OutsideRoot):
        Sandbox(root).cd(root, target)


def test_a_symlink_out_of_the_root_is_refused(root: Path) -> None:
    (root / "escape").symlink_to(root.parent / "outside")
    (root / "inside-link").symlink_to(root / "app")
    box = Sandbox(root)
    with pytest.raises(OutsideRoot, match="outside"):
        box.cd(root, "escape")
    assert box.cd(root, "inside-link") == root / "app"  # resolved, still inside


def test_up_stops_at_the_root(root: Path) -> None:
    with pytest.raises(OutsideRoot, match="already at"):
        Sandbox(root).up(root)


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../x", "a\\b", "x\x00", "\n", "é" * 200])
def test_mkdir_takes_plain_names_only(root: Path, name: str) -> None:
    with pytest.raises(OutsideRoot):
        Sandbox(root).mkdir(root, name)


def test_mkdir_over_a_planted_symlink_is_refused(root: Path) -> None:
    (root / "notes").symlink_to(root.parent / "outside")
    with pytest.raises(OutsideRoot):
        Sandbox(root).mkdir(root, "notes")
    assert Sandbox(root).mkdir(root, "new") == root / "new"


def test_listing_marks_folders_and_caps_the_count(root: Path) -> None:
    for i in range(5):
        (root / f"f{i}.txt").write_text("x")
    assert Sandbox(root).listing(root, limit=3) == ["app/", "f0.txt", "f1.txt", "… and 3 more"]
