"""What the reviewer needs to see, gathered from the project's git work tree with GitPython.

The change is everything an agent did that is not in HEAD: staged, unstaged AND untracked
files (an agent's work is usually uncommitted). A repository without commits works too: its
change is diffed against the empty tree.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from review import access
from review.privacy import key_file_reason

if TYPE_CHECKING:
    import git

PRD_CANDIDATES = ("docs/PRD.md", "PRD.md", "README.md")
GUIDE_CANDIDATES = ("AGENTS.md", "CLAUDE.md")
# Untracked files past this are listed, not read: nobody reviews a 5 MB file line by line.
MAX_UNTRACKED_BYTES = 1_000_000
# Documents (PRD, guides) are shortened to a share of the budget anyway: read no more than this.
MAX_DOCUMENT_BYTES = 1_000_000
_BINARY_SNIFF = 8000
try:
    _PATH_MAX = os.pathconf("/", "PC_PATH_MAX")
except (OSError, ValueError, AttributeError):  # pragma: no cover - not POSIX
    _PATH_MAX = 4096


class ContextError(ValueError):
    """The project cannot be read (not a git work tree, bare repository...)."""


@dataclass
class FileChange:
    path: str
    status: str  # added | modified | deleted | renamed | untracked
    additions: int = 0
    deletions: int = 0
    binary: bool = False
    too_large: bool = False
    diff: str = ""
    old_path: str | None = None
    # Why this file's content must never be sent (a key file), or None.
    withheld: str | None = None

    size_bytes: int = 0  # of files whose content is not in the diff (binary, too large)

    @property
    def size_chars(self) -> int:
        return len(self.diff)


@dataclass
class Document:
    path: str
    text: str


@dataclass
class ProjectContext:
    root: Path
    head: str | None
    branch: str | None
    prd: Document | None
    guides: list[Document] = field(default_factory=list)
    changes: list[FileChange] = field(default_factory=list)
    # Documents that were not read, and why (a symlink out of the work tree...).
    skipped_documents: list[tuple[str, str]] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        """Identifies the change: an approval covers this exact diff, no other."""
        digest = hashlib.sha256()
        for change in sorted(self.changes, key=lambda c: c.path):
            digest.update(
                f"{change.path}\0{change.status}\0{change.binary}\0{change.too_large}\0"
                f"{change.size_bytes}\0".encode()
            )
            digest.update(change.diff.encode("utf-8", errors="replace"))
            digest.update(b"\1")
        return digest.hexdigest()


def open_repo(cwd: str | os.PathLike[str]) -> git.Repo:
    import git  # GitPython is imported when a review first runs, not at daemon start

    path = Path(cwd).expanduser()
    if not path.is_absolute():
        raise ContextError(f"cwd must be an absolute path, got {_short(str(cwd))!r}")
    if "\0" in str(path) or len(os.fsencode(path)) >= _PATH_MAX:
        raise ContextError(f"cwd is not a usable path (longer than {_PATH_MAX} bytes or holds NUL)")
    try:
        # A project under a symlink (macOS /tmp) is reviewed at its real place.
        path = path.resolve(strict=True)
        is_dir = path.is_dir()
    except (OSError, RuntimeError) as exc:
        raise ContextError(f"cwd {_short(str(path))!r} cannot be used: {_reason(exc)}") from None
    if not is_dir:
        raise ContextError(f"cwd {_short(str(path))!r} does not exist or is not a directory")
    if not os.access(path, os.R_OK | os.X_OK):
        raise ContextError(f"cwd {_short(str(path))!r} is not readable")
    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise ContextError(
            f"cwd {str(path)!r} is not inside a git work tree; pass the project's root as cwd"
        ) from None
    if repo.bare or repo.working_tree_dir is None:
        raise ContextError(
            f"{str(path)!r} is a bare git repository: there is no work tree to review"
        )
    return repo


def gather(cwd: str | os.PathLike[str], asker_uid: int | None = None) -> ProjectContext:
    """The project's context. `asker_uid`: the local user who asked for the review, when it is
    not this process's; they must be able to read the project (a daemon shared by several
    users must not read another user's private directory for them)."""
    repo = open_repo(cwd)
    root = Path(repo.working_tree_dir or cwd).resolve()
    if asker_uid is not None and asker_uid != os.geteuid():
        for place in {root, Path(cwd).expanduser().resolve()}:
            if not access.readable_by(place, asker_uid):
                raise ContextError(
                    f"cwd {_short(str(place))!r} is not readable by the user who asked"
                )
    search_dirs = _search_dirs(Path(cwd).expanduser().resolve(), root)
    has_head = repo.head.is_valid()
    try:
        branch = None if repo.head.is_detached else repo.active_branch.name
    except TypeError:
        branch = None
    skipped: list[tuple[str, str]] = []
    prd = _first_document(root, search_dirs, PRD_CANDIDATES, skipped)
    guides = [
        doc
        for name in GUIDE_CANDIDATES
        if (doc := _first_document(root, search_dirs, (name,), skipped)) is not None
    ]
    changes = _tracked_changes(repo, has_head) + _untracked_changes(repo, root)
    for change in changes:
        reason = key_file_reason(change.path)
        if reason:
            change.withheld, change.diff = reason, ""
    return ProjectContext(
        root=root,
        head=repo.head.commit.hexsha[:12] if has_head else None,
        branch=branch,
        prd=prd,
        guides=guides,
        changes=changes,
        skipped_documents=skipped,
    )


def inside(root: Path, path: Path) -> bool:
    """Whether `path`, every symlink resolved, lies in the work tree `root` (resolved)."""
    try:
        return path.resolve(strict=True).is_relative_to(root)
    except (OSError, RuntimeError):
        return False


def _short(text: str) -> str:
    return text if len(text) <= 200 else text[:200] + "..."


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return "symlink loop" if isinstance(exc, RuntimeError) else str(exc)


def _search_dirs(cwd: Path, root: Path) -> list[Path]:
    """The cwd first (a package inside a monorepo has its own PRD), then the repository root."""
    return [cwd, root] if cwd != root and cwd.is_relative_to(root) else [root]


def _first_document(
    root: Path, dirs: list[Path], names: tuple[str, ...], skipped: list[tuple[str, str]]
) -> Document | None:
    for directory in dirs:
        for name in names:
            candidate = directory / name
            rel = str(candidate.relative_to(root))
            if not (candidate.is_file() or candidate.is_symlink()):
                continue
            if not inside(root, candidate):
                # A symlink to /etc/shadow or ~/.ssh/id_rsa in a cloned repository.
                skipped.append((rel, "outside the work tree (symlink): not read"))
                continue
            if not candidate.is_file():
                continue
            with open(candidate, "rb") as handle:
                data = handle.read(MAX_DOCUMENT_BYTES + 1)
            text = data[:MAX_DOCUMENT_BYTES].decode("utf-8", errors="replace")
            if len(data) > MAX_DOCUMENT_BYTES:
                text += f"\n[... only the first {MAX_DOCUMENT_BYTES} bytes were read]"
            return Document(path=rel, text=text)
    return None


def _empty_tree_sha(repo: git.Repo) -> str:
    # Differs between SHA-1 and SHA-256 repositories, so ask git rather than hard-code it.
    return str(repo.git.hash_object("-t", "tree", "--stdin", istream=_devnull()))


def _devnull() -> object:
    return open(os.devnull, "rb")


def _tracked_changes(repo: git.Repo, has_head: bool) -> list[FileChange]:
    base = repo.head.commit if has_head else repo.tree(_empty_tree_sha(repo))
    # diff(None) compares against the work tree, so staged and unstaged edits both show.
    diffs = base.diff(None, create_patch=True, M=True, no_ext_diff=True, no_color=True)
    changes: list[FileChange] = []
    for item in diffs:
        raw = item.diff if isinstance(item.diff, bytes) else str(item.diff or "").encode()
        body = raw.decode("utf-8", errors="replace")
        binary = (
            body.startswith("Binary files")
            or "\nBinary files " in body
            or "GIT binary patch" in body
        )
        if item.new_file:
            status = "added"
        elif item.deleted_file:
            status = "deleted"
        elif item.renamed_file:
            status = "renamed"
        else:
            status = "modified"
        path = item.b_path if not item.deleted_file else item.a_path
        additions, deletions = _count_lines(body)
        header = (
            f"--- a/{item.a_path or path}\n+++ b/{path}\n"
            if not item.deleted_file
            else (f"--- a/{path}\n+++ /dev/null\n")
        )
        changes.append(
            FileChange(
                path=path or "",
                status=status,
                additions=additions,
                deletions=deletions,
                binary=binary,
                diff="" if binary else header + body,
                old_path=item.a_path if item.renamed_file else None,
            )
        )
    return changes


def _count_lines(body: str) -> tuple[int, int]:
    additions = deletions = 0
    for line in body.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            additions += 1
        elif line.startswith("-") and not line.startswith("---"):
            deletions += 1
    return additions, deletions


def _untracked_changes(repo: git.Repo, root: Path) -> list[FileChange]:
    changes: list[FileChange] = []
    for rel in repo.untracked_files:  # honours .gitignore
        path = root / rel
        if path.is_symlink():
            target = os.readlink(path)
            changes.append(
                FileChange(
                    path=rel,
                    status="untracked",
                    additions=1,
                    diff=f"--- /dev/null\n+++ b/{rel}\n@@ -0,0 +1 @@\n+-> {target}\n",
                )
            )
            continue
        if not path.is_file() or not inside(root, path):
            continue
        size = path.stat().st_size
        if size > MAX_UNTRACKED_BYTES:
            changes.append(
                FileChange(path=rel, status="untracked", too_large=True, size_bytes=size)
            )
            continue
        data = path.read_bytes()
        if b"\0" in data[:_BINARY_SNIFF]:
            changes.append(FileChange(path=rel, status="untracked", binary=True, size_bytes=size))
            continue
        lines = data.decode("utf-8", errors="replace").splitlines()
        body = "".join(f"+{line}\n" for line in lines)
        diff = f"--- /dev/null\n+++ b/{rel}\n@@ -0,0 +1,{len(lines)} @@\n{body}"
        changes.append(FileChange(path=rel, status="untracked", additions=len(lines), diff=diff))
    return changes
