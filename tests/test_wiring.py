"""How the daemon wires review to the proxy's classifier: review's auto mode."""

from __future__ import annotations

from pathlib import Path

import git

from mcp_server.wiring import review_decider
from proxy.classifier import CascadeClassifier
from proxy.settings import ClassifierSettings
from review import context
from review.prompt import build_prompt
from review.request import ReviewRequest


async def _decide_for(project: git.Repo, summary: str, changed: dict[str, str]) -> str:
    root = Path(str(project.working_tree_dir))
    for name, text in changed.items():
        (root / name).write_text(text)
    request = ReviewRequest(task_id="t", summary=summary, cwd=str(root))
    built = build_prompt(
        request, context.gather(str(root)), iteration=1, max_iterations=3, budget_tokens=60_000
    )
    decide = review_decider(CascadeClassifier(ClassifierSettings(cache_size=0)))
    return await decide(built)


async def test_a_typo_fix_is_reviewed_locally(project: git.Repo) -> None:
    readme = "# Calculator\nA tiny calculator library.\n"
    assert (
        await _decide_for(project, "Fixed a typo in the README.", {"README.md": readme}) == "local"
    )


async def test_a_hard_change_is_reviewed_in_the_cloud(project: git.Repo) -> None:
    summary = (
        "Made the job scheduler lock-free: replaced the global lease lock with a CAS loop and "
        "fixed the race between workers that acquire the same lease under load."
    )
    changed = {"calc.py": "def add(a, b):\n    return a + b  # lock-free\n"}
    assert await _decide_for(project, summary, changed) == "cloud"


async def test_a_large_diff_is_reviewed_in_the_cloud_whatever_the_summary(
    project: git.Repo,
) -> None:
    big = "".join(f"V{i} = {i}\n" for i in range(3000))
    assert await _decide_for(project, "Fixed a typo in the README.", {"big.py": big}) == "cloud"
