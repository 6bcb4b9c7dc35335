"""The review pages in a real browser: headless Chromium (Debian's) driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import git
import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser_fixtures import ARTIFACTS, needs_chromium
from tests.conftest import root_of
from tests.daemon import Daemon
from tests.fake_llm import FakeLLM, Reply

pytestmark = needs_chromium


@pytest.fixture
def daemon(tmp_path: Path, fake_llm: FakeLLM) -> Iterator[Daemon]:
    env = {
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}",
        "BRAINROUTER_REVIEW__MODE": "local",
        "BRAINROUTER_REVIEW__LOCAL__BASE_URL": fake_llm.base_url,
    }
    d = Daemon(env, tmp_path / "daemon.log").start()
    yield d
    d.stop()


def test_a_person_resolves_an_escalated_review(
    browser: Browser, daemon: Daemon, project: git.Repo, fake_llm: FakeLLM
) -> None:
    cwd = str(root_of(project))
    (root_of(project) / "calc.py").write_text("def divide(a, b):\n    return a / b\n")
    fake_llm.script(Reply(status=500, raw_body="reviewer down"))
    escalated = httpx.post(
        f"{daemon.url}/review/api/request",
        json={"taskId": "browser-task", "summary": "Added <b>divide</b>.", "cwd": cwd},
    ).json()
    assert escalated["status"] == "escalated"
    httpx.post(
        f"{daemon.url}/review/api/request",
        json={"taskId": "other-task", "summary": "x", "cwd": cwd},
    )

    page = browser.new_page()
    page.goto(f"{daemon.url}/review/")
    rows = page.locator("#sessions tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_role("link", name="escalated").click()
    expect(rows).to_have_count(1)
    page.get_by_role("link", name="browser-task").click()

    expect(page.locator("#status")).to_have_text("escalated")
    expect(page.locator(".summary").first).to_have_text("Added <b>divide</b>.")  # shown as text
    page.locator("#feedback").fill("Guard against b == 0 and add a test.")
    page.locator("#submit-feedback").click()

    expect(page.locator("#status")).to_have_text("needs_revision")
    expect(page.get_by_text("Guard against b == 0 and add a test.").first).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review-session.png"), full_page=True)

    page.locator("#quick-approve").click()
    expect(page.locator("#status")).to_have_text("approved")
    expect(page.locator("#resolve")).to_have_count(0)


def test_the_human_sees_the_diff_the_reviewer_saw(
    browser: Browser, daemon: Daemon, project: git.Repo, fake_llm: FakeLLM
) -> None:
    from tests.fake_llm import revise

    cwd = str(root_of(project))
    root = root_of(project)
    (root / "calc.py").write_text(
        "def add(a, b):\n    return a + b\n\n\ndef divide(a, b):\n    return a / b\n"
    )
    (root / "notes.txt").write_text("token sk-proj-" + "Q" * 40 + "\n")
    fake_llm.script(
        revise("Guard the division.", [{"file": "calc.py", "line": 6, "message": "b may be 0"}])
    )
    api = f"{daemon.url}/review/api/request"
    body = {"taskId": "diff-task", "summary": "Added divide.", "cwd": cwd}
    assert httpx.post(api, json=body).json()["status"] == "needs_revision"
    (root / "calc.py").write_text(
        "def add(a, b):\n    return a + b\n\n\ndef divide(a, b):\n"
        "    if b == 0:\n        raise ValueError('b')\n    return a / b\n"
    )
    fake_llm.script(Reply(status=500, raw_body="down"))
    second = httpx.post(api, json=body).json()
    assert second["status"] == "escalated"

    page = browser.new_page()
    page.goto(second["review_url"])
    first_round = page.locator('.round[data-iteration="1"]')
    finding = first_round.locator('tr.finding[data-line="6"]')
    expect(finding).to_contain_text("b may be 0")
    # Highlighted by Pygments: `def` is a keyword span, not plain text.
    expect(first_round.locator("td.code .k").first).to_have_text("def")
    expect(first_round.locator("td.code").filter(has_text="[REDACTED:openai-key]")).to_have_count(1)
    expect(first_round.locator(".redactions")).to_contain_text("openai-key")
    latest = page.locator('.round[data-iteration="2"]')
    expect(latest.locator('.file[data-path="calc.py"] .since')).to_have_text(
        "changed since the last round"
    )
    expect(latest.locator('.file[data-path="notes.txt"] .since')).to_have_text(
        "unchanged since the last round"
    )
    page.locator("#quick-approve").click()
    expect(page.locator("#status")).to_have_text("approved")
    expect(page.locator("#human-verdicts .given-by")).to_have_text("page")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review-diff.png"), full_page=True)
