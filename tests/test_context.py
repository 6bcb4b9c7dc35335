from pathlib import Path

import git
import pytest

from review.context import ContextError, gather
from tests.conftest import make_repo, root_of


def test_staged_unstaged_and_untracked_changes(project: git.Repo) -> None:
    root = root_of(project)
    (root / "calc.py").write_text(
        "def add(a, b):\n    return a + b\n\ndef sub(a, b):\n    return a - b\n"
    )
    (root / "staged.py").write_text("STAGED = 1\n")
    project.index.add(["staged.py"])
    (root / "new_module.py").write_text("def divide(a, b):\n    return a / b\n")
    (root / ".gitignore").write_text("ignored.log\n")
    (root / "ignored.log").write_text("noise\n")

    ctx = gather(str(root))

    by_path = {c.path: c for c in ctx.changes}
    assert by_path["calc.py"].status == "modified"
    assert by_path["calc.py"].additions == 3
    assert "+def sub(a, b):" in by_path["calc.py"].diff
    assert by_path["staged.py"].status == "added"
    assert "+STAGED = 1" in by_path["staged.py"].diff
    assert by_path["new_module.py"].status == "untracked"
    assert "+def divide(a, b):" in by_path["new_module.py"].diff
    assert "ignored.log" not in by_path
    assert ctx.prd is not None and ctx.prd.path == "docs/PRD.md"
    assert [g.path for g in ctx.guides] == ["AGENTS.md"]
    assert ctx.head is not None


def test_repository_without_commits(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "fresh", {"PRD.md": "# PRD\n", "app.py": "print('hi')\n"}, commit=False
    )
    repo.index.add(["app.py"])  # staged, never committed
    (tmp_path / "fresh" / "CLAUDE.md").write_text("be nice\n")

    ctx = gather(str(tmp_path / "fresh"))

    assert ctx.head is None
    paths = {c.path: c.status for c in ctx.changes}
    assert paths["app.py"] == "added"
    assert paths["PRD.md"] == "untracked"
    assert ctx.prd is not None and ctx.prd.path == "PRD.md"
    assert [g.path for g in ctx.guides] == ["CLAUDE.md"]


def test_deleted_and_binary_files(project: git.Repo) -> None:
    root = root_of(project)
    (root / "calc.py").unlink()
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    ctx = gather(str(root))
    by_path = {c.path: c for c in ctx.changes}
    assert by_path["calc.py"].status == "deleted"
    assert by_path["logo.png"].binary


def test_subdirectory_cwd_finds_repository_root(project: git.Repo) -> None:
    root = root_of(project)
    (root / "pkg").mkdir()
    (root / "pkg" / "mod.py").write_text("x = 1\n")
    ctx = gather(str(root / "pkg"))
    assert ctx.root == root
    assert any(c.path == "pkg/mod.py" for c in ctx.changes)


def test_readme_is_the_prd_of_last_resort(tmp_path: Path) -> None:
    make_repo(tmp_path / "r", {"README.md": "# Readme\n"})
    ctx = gather(str(tmp_path / "r"))
    assert ctx.prd is not None and ctx.prd.path == "README.md"


def test_cwd_outside_a_git_work_tree(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(ContextError, match="not inside a git work tree"):
        gather(str(plain))


@pytest.mark.parametrize("cwd", ["relative/path", "/definitely/not/here"])
def test_bad_cwd_values(cwd: str) -> None:
    with pytest.raises(ContextError, match="cwd"):
        gather(cwd)


def test_bare_repository_is_refused(tmp_path: Path) -> None:
    git.Repo.init(tmp_path / "bare.git", bare=True)
    with pytest.raises(ContextError):
        gather(str(tmp_path / "bare.git"))


def test_symlinked_documents_out_of_the_tree_are_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "shadow"
    secret.parent.mkdir()
    secret.write_text("root:TOPSECRET-HASH:19000:0:99999:7:::\n")
    repo = make_repo(tmp_path / "p", {"calc.py": "x = 1\n"})
    root = root_of(repo)
    (root / "README.md").symlink_to(secret)
    (root / "AGENTS.md").symlink_to(secret)
    (root / "docs").symlink_to(secret.parent, target_is_directory=True)
    inside = root / "guide.md"
    inside.write_text("# the real guide\n")
    (root / "CLAUDE.md").symlink_to(inside)  # a link inside the tree is fine
    ctx = gather(str(root))
    assert ctx.prd is None
    assert [g.path for g in ctx.guides] == ["CLAUDE.md"]
    assert ctx.guides[0].text == "# the real guide\n"
    skipped = dict(ctx.skipped_documents)
    assert set(skipped) >= {"README.md", "AGENTS.md"}
    assert all("outside the work tree" in reason for reason in skipped.values())
    assert all("TOPSECRET" not in c.diff for c in ctx.changes)


def test_cwd_under_a_symlink_is_resolved(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "real", {"a.py": "a = 1\n"})
    link = tmp_path / "link"
    link.symlink_to(root_of(repo), target_is_directory=True)
    ctx = gather(str(link))
    assert ctx.root == root_of(repo).resolve()


def test_cwd_longer_than_path_max_is_a_clear_error() -> None:
    with pytest.raises(ContextError, match="not a usable path"):
        gather("/" + "a" * 5000)
    with pytest.raises(ContextError, match="cannot be used"):
        gather("/" + "/".join(["b" * 200] * 3))  # each part fine, the whole does not exist
