"""The review loop end to end: real git repos, a real SQLite file, a real HTTP reviewer."""

from pathlib import Path

import git
import pytest

from mcp_server.config import Settings
from mcp_server.wiring import ReviewRuntime
from review.errors import ReviewInputError, SessionNotFound
from review.loop import ReviewService
from review.request import ReviewRequest
from review.status import VerdictSource
from tests.conftest import root_of
from tests.fake_llm import FakeLLM, Reply, approve, revise


def _request(
    repo: git.Repo, task: str = "feature-1", summary: str = "Added divide()."
) -> ReviewRequest:
    return ReviewRequest(task_id=task, summary=summary, cwd=str(repo.working_tree_dir))


def _write(repo: git.Repo, name: str, text: str) -> None:
    (root_of(repo) / name).write_text(text)


async def test_needs_revision_then_fix_then_approved(
    service: ReviewService, project: git.Repo, fake_llm: FakeLLM
) -> None:
    _write(project, "calc.py", "def divide(a, b):\n    return a / b\n")
    fake_llm.script(
        revise(
            "Division by zero is not handled.",
            [
                {
                    "file": "calc.py",
                    "line": 2,
                    "severity": "blocking",
                    "message": "raise ValueError on b == 0",
                }
            ],
        )
    )
    first = await service.request_review(_request(project))
    assert first.status == "needs_revision"
    assert first.iteration == 1 and first.max_iterations == 3
    assert first.findings[0].file == "calc.py" and first.findings[0].line == 2
    assert first.reviewer == "local" and first.model == "fake-reviewer"
    assert "same taskId" in first.next_step

    _write(
        project,
        "calc.py",
        "def divide(a, b):\n    if b == 0:\n        raise ValueError('b')\n    return a / b\n",
    )
    fake_llm.script(approve("Now safe."))
    second = await service.request_review(_request(project, summary="Guarded division by zero."))
    assert second.status == "approved"
    assert second.iteration == 2
    assert second.session_id == first.session_id
    # The second prompt shows the reviewer its earlier feedback and the new code.
    prompt = fake_llm.prompts()[-1]
    assert "Division by zero is not handled." in prompt
    assert "+    if b == 0:" in prompt

    details = await service.session_details(first.session_id)
    assert [r.status for r in details.rounds] == ["needs_revision", "approved"]
    assert details.rounds[0].raw_answer is not None
    assert details.rounds[1].context_summary["files_changed"] == 1


async def test_prompt_has_prd_agents_staged_and_untracked_files(
    service: ReviewService, project: git.Repo, fake_llm: FakeLLM
) -> None:
    _write(project, "staged.py", "STAGED_MARKER = 1\n")
    project.index.add(["staged.py"])
    _write(project, "untracked.py", "UNTRACKED_MARKER = 2\n")
    await service.request_review(_request(project))
    prompt = fake_llm.prompts()[-1]
    assert "+STAGED_MARKER = 1" in prompt
    assert "+UNTRACKED_MARKER = 2" in prompt
    assert "division by zero raises ValueError" in prompt  # docs/PRD.md
    assert "Every function needs a test" in prompt  # AGENTS.md
    assert "Added divide()." in prompt
    assert "EVERY blocking problem" in prompt


async def test_escalates_after_max_rounds(
    service: ReviewService, project: git.Repo, fake_llm: FakeLLM
) -> None:
    fake_llm.default = revise("Still wrong.")
    _write(project, "calc.py", "x = 1\n")
    statuses = [(await service.request_review(_request(project))).status for _ in range(3)]
    assert statuses == ["needs_revision", "needs_revision", "escalated"]
    calls = len(fake_llm.requests)

    again = await service.request_review(_request(project))
    assert again.status == "escalated"
    assert again.review_url.endswith(f"/review/session/{again.session_id}")
    assert "human" in again.next_step and again.review_url in again.next_step
    assert "Still wrong." in again.feedback
    assert len(fake_llm.requests) == calls  # no LLM call while a human must decide


async def test_escalates_on_http_error(
    service: ReviewService, project: git.Repo, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Reply(status=500, raw_body='{"error": "boom"}'))
    result = await service.request_review(_request(project))
    assert result.status == "escalated"
    assert "HTTP 500" in result.feedback
    details = await service.session_details(result.session_id)
    assert details.rounds[0].status == "error"
    assert "HTTP 500" in (details.rounds[0].error or "")


async def test_garbage_is_retried_once_then_escalates(
    service: ReviewService, project: git.Repo, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Reply("I am not sure what to say."), Reply("Still no verdict here."))
    result = await service.request_review(_request(project))
    assert result.status == "escalated"
    assert "unparseable" in result.feedback
    assert len(fake_llm.requests) == 2
    assert "could not be read" in fake_llm.prompts()[1]


async def test_garbage_then_valid_answer_counts(
    service: ReviewService, project: git.Repo, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Reply("hmm"), Reply("STATUS: approved\nGood work."))
    result = await service.request_review(_request(project))
    assert result.status == "approved"
    assert result.feedback == "Good work."


async def test_round_time_limit_escalates(
    tmp_path: Path, fake_llm: FakeLLM, project: git.Repo, settings: Settings
) -> None:
    settings.review.round_timeout_s = 0.5
    runtime = ReviewRuntime(settings)
    try:
        service = await runtime.service()
        fake_llm.script(Reply(hang=True))
        result = await service.request_review(_request(project))
    finally:
        await runtime.aclose()
    assert result.status == "escalated"
    assert "time limit" in result.feedback


async def test_unreachable_reviewer_escalates(settings: Settings, project: git.Repo) -> None:
    settings.review.local.base_url = "http://127.0.0.1:9/v1"  # discard port: nothing listens
    runtime = ReviewRuntime(settings)
    try:
        result = await (await runtime.service()).request_review(_request(project))
    finally:
        await runtime.aclose()
    assert result.status == "escalated"
    assert "unreachable" in result.feedback


async def test_skipped_files_are_listed_in_prompt_and_result(
    settings: Settings, project: git.Repo, fake_llm: FakeLLM
) -> None:
    settings.review.context_budget_tokens = 2000
    _write(project, "small.py", "SMALL = 1\n")
    _write(project, "huge.py", "".join(f"LINE_{i} = {i}\n" for i in range(3000)))
    _write(project, "yarn.lock", "lock stuff\n")
    runtime = ReviewRuntime(settings)
    try:
        result = await (await runtime.service()).request_review(_request(project))
    finally:
        await runtime.aclose()
    skipped = {s.path: s.reason for s in result.skipped_files}
    assert "over the context budget" in skipped["huge.py"]
    assert skipped["yarn.lock"] == "lock file"
    prompt = fake_llm.prompts()[-1]
    assert "Files not shown to you" in prompt
    assert "- huge.py (over the context budget" in prompt
    assert "+SMALL = 1" in prompt
    assert "LINE_2999" not in prompt


async def test_bad_cwd_is_a_clear_error(
    service: ReviewService, tmp_path: Path, fake_llm: FakeLLM
) -> None:
    with pytest.raises(ReviewInputError, match="not inside a git work tree"):
        await service.request_review(ReviewRequest(task_id="t", summary="s", cwd=str(tmp_path)))
    with pytest.raises(ReviewInputError, match="taskId must not be empty"):
        ReviewRequest.of(task_id="  ", summary="s", cwd=str(tmp_path))
    assert fake_llm.requests == []
    assert (await service.list_sessions()).sessions == []


async def test_session_survives_a_restart(
    settings: Settings, project: git.Repo, fake_llm: FakeLLM
) -> None:
    fake_llm.script(revise("Add tests."))
    first_runtime = ReviewRuntime(settings)
    first = await (await first_runtime.service()).request_review(_request(project))
    await first_runtime.aclose()

    fake_llm.script(approve())
    second_runtime = ReviewRuntime(settings)  # a new engine on the same file
    try:
        service = await second_runtime.service()
        second = await service.request_review(_request(project))
        details = await service.session_details("feature-1")
    finally:
        await second_runtime.aclose()
    assert second.session_id == first.session_id
    assert second.iteration == 2
    assert [r.feedback for r in details.rounds] == ["Add tests.", "Looks correct and complete."]


async def test_human_approval_reaches_the_agent_without_an_llm_call(
    service: ReviewService, project: git.Repo, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Reply(status=500, raw_body="down"))
    escalated = await service.request_review(_request(project))
    assert escalated.status == "escalated"

    resolved = await service.resolve(escalated.session_id, "LGTM", VerdictSource.PAGE)
    assert resolved.status == "approved"
    calls = len(fake_llm.requests)
    result = await service.request_review(_request(project))
    assert result.status == "approved"
    assert result.reviewer == "human"
    assert result.feedback == "LGTM"
    assert len(fake_llm.requests) == calls


async def test_human_revision_starts_a_round_with_the_feedback(
    service: ReviewService, project: git.Repo, fake_llm: FakeLLM
) -> None:
    fake_llm.default = revise("no")
    for _ in range(3):
        await service.request_review(_request(project))
    details = await service.resolve(
        "feature-1", "Use decimal arithmetic instead of floats.", VerdictSource.PAGE
    )
    assert details.status == "needs_revision"
    assert details.human_feedback == "Use decimal arithmetic instead of floats."

    fake_llm.script(approve())
    result = await service.request_review(_request(project))
    assert result.status == "approved"
    assert result.iteration == 4
    assert "Use decimal arithmetic instead of floats." in fake_llm.prompts()[-1]
    assert "A human reviewer asked for the changes" in fake_llm.prompts()[-1]


async def test_resolve_unknown_session(service: ReviewService) -> None:
    with pytest.raises(SessionNotFound, match="nope"):
        await service.resolve("nope", "lgtm", VerdictSource.PAGE)


async def test_forced_local_review_never_goes_to_cloud(
    settings: Settings, project: git.Repo, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_CLOUD_KEY", "secret")
    cloud = FakeLLM().start()
    settings.review.cloud.base_url = cloud.base_url
    runtime = ReviewRuntime(settings)
    try:
        service = await runtime.service()
        service.config.set("local", "my-local-model")
        big = "".join(f"V{i} = {i}\n" for i in range(3000))  # large enough for auto to pick cloud
        _write(project, "big.py", big)
        result = await service.request_review(_request(project))
        assert result.reviewer == "local" and result.model == "my-local-model"
        assert cloud.requests == []
        assert fake_llm.requests[-1]["model"] == "my-local-model"

        service.config.set("cloud")
        result = await service.request_review(_request(project, task="t2"))
        assert result.reviewer == "cloud"
        assert len(cloud.requests) == 1
    finally:
        await runtime.aclose()
        cloud.stop()


async def test_cloud_key_is_sent_as_bearer(
    settings: Settings, project: git.Repo, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_CLOUD_KEY", "sk-test")
    settings.review.mode = "cloud"
    runtime = ReviewRuntime(settings)
    try:
        result = await (await runtime.service()).request_review(_request(project))
    finally:
        await runtime.aclose()
    assert result.reviewer == "cloud"
    assert fake_llm.requests[-1]["model"] == "fake-cloud"
    assert fake_llm.headers[-1]["authorization"] == "Bearer sk-test"  # the key reached it


async def test_progress_is_reported(
    service: ReviewService, project: git.Repo, fake_llm: FakeLLM
) -> None:
    seen: list[tuple[float, float | None, str]] = []

    async def progress(done: float, total: float | None, message: str) -> None:
        seen.append((done, total, message))

    await service.request_review(_request(project), progress)
    assert seen[0][2] == "gathering the project's context"
    assert any("waiting for the local reviewer" in m for _, _, m in seen)
    assert all(total == 20 for _, total, _ in seen)
    assert [d for d, _, _ in seen] == sorted(d for d, _, _ in seen)


async def test_an_interrupted_round_does_not_block_the_next(
    service: ReviewService, project: git.Repo, fake_llm: FakeLLM
) -> None:
    import asyncio

    fake_llm.script(Reply(hang=True))
    task = asyncio.create_task(service.request_review(_request(project)))
    for _ in range(400):
        if fake_llm.requests:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    details = await service.session_details("feature-1")
    assert [r.status for r in details.rounds] == ["interrupted"]

    fake_llm.script(revise("a"), revise("b"))
    assert (await service.request_review(_request(project))).status == "needs_revision"
    third = await service.request_review(_request(project))
    # max_iterations is 3, but the interrupted round gave no verdict and does not count.
    assert third.status == "needs_revision"
    assert third.iteration == 3


async def test_the_prompt_template_can_be_replaced(
    settings: Settings, project: git.Repo, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    template = tmp_path / "my-review.md"
    template.write_text(
        "HOUSE RULES for {{ task_id }} (round {{ iteration }}):\n{{ diff }}\nSkipped: {{ skipped | length }}\n"
    )
    settings.review.prompt_template = template
    _write(project, "calc.py", "X = 1\n")
    runtime = ReviewRuntime(settings)
    try:
        await (await runtime.service()).request_review(_request(project))
    finally:
        await runtime.aclose()
    prompt = fake_llm.prompts()[-1]
    assert prompt.startswith("HOUSE RULES for feature-1 (round 1):")
    assert "+X = 1" in prompt
