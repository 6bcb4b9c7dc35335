"""The dashboard in headless Chromium (Debian's, driven by Playwright) with real traffic."""

from __future__ import annotations

import subprocess
from pathlib import Path

import openai
from playwright.sync_api import Browser, Dialog, expect

from tests.browser_fixtures import ARTIFACTS, needs_chromium
from tests.daemon import BRAINROUTER, Daemon
from tests.fake_llm import FakeLLM
from tests.fake_signal import FakeSignal
from tests.test_dashboard import _env

pytestmark = needs_chromium


def test_the_dashboard_with_real_traffic(
    browser: Browser, tmp_path: Path, cloud: FakeLLM, local: FakeLLM
) -> None:
    env = _env(tmp_path, cloud, local)
    d = Daemon(env, tmp_path / "d1.log").start()
    try:
        client = openai.OpenAI(base_url=f"{d.url}/v1", api_key="x", max_retries=0)
        for _ in range(3):  # identical: one row, counted 3 times
            client.chat.completions.create(
                model="local", messages=[{"role": "user", "content": "rename the variable"}]
            )
        client.chat.completions.create(
            model="cloud",
            messages=[{"role": "user", "content": "<img src=x onerror=alert(1)> design the cache"}],
        )

        page = browser.new_page()
        dialogs: list[str] = []

        def on_dialog(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.goto(f"{d.url}/")
        flow = page.locator("#flow")
        expect(flow).to_contain_text("cloud")
        expect(flow).to_contain_text("big-model")
        rows = page.locator("#events tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(1)).to_contain_text("\u00d73")
        expect(rows.nth(0).locator("td.prompt")).to_have_attribute(
            "title", "<img src=x onerror=alert(1)> design the cache"
        )
        expect(page.locator("#t-requests")).to_have_text("4")
        expect(page.locator("#health-cloud")).to_contain_text("up")
        charts = page.locator("#charts")
        expect(charts).to_have_attribute("data-drawn", "hour")
        expect(charts.locator("canvas")).to_have_count(4)
        expect(page.locator("#chart-requests")).to_contain_text("cloud")  # its legend
        page.locator("#chart-window").select_option("day")
        expect(charts).to_have_attribute("data-drawn", "day")
        ledger = page.locator("#ledger tbody tr")
        expect(ledger).to_have_count(3)
        expect(ledger.nth(1)).to_contain_text("This week")
        expect(ledger.nth(0)).to_contain_text("$")  # big-model has a price: a cost is shown

        # A new request shows up without reloading the page.
        client.chat.completions.create(
            model="local", messages=[{"role": "user", "content": "something new"}]
        )
        expect(rows).to_have_count(3)
        expect(page.locator("#t-requests")).to_have_text("5")

        # Restart without the token is refused.
        page.locator("button.restart").click()
        expect(page.locator("#ops-result")).to_contain_text("refused (401)")

        # Review mode: force local with a model from the local server's list.
        page.locator("#review-mode").select_option("local")
        page.locator("#review-model").select_option("fake-local-2")
        page.locator("#review-save").click()
        expect(page.locator("#review-status")).to_have_text("saved")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        assert dialogs == []  # nothing from the requests ran as script
    finally:
        d.stop()

    again = Daemon(env, tmp_path / "d2.log").start()  # the review mode survives a restart
    try:
        page = browser.new_page()
        page.goto(f"{again.url}/")
        expect(page.locator("#review-mode")).to_have_value("local")
        expect(page.locator("#review-model")).to_have_value("fake-local-2")
        token = subprocess.run(
            [BRAINROUTER, "token"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
        page.locator("#token").fill(token)
        page.locator("#token").dispatch_event("change")
        page.locator("button.restart").click()
        expect(page.locator("#ops-result")).to_contain_text("restarted fake-service")
    finally:
        again.stop()


def test_chat_bridges_show_their_connection(
    browser: Browser, tmp_path: Path, cloud: FakeLLM, local: FakeLLM, signal_cli: FakeSignal
) -> None:
    env = {
        **_env(tmp_path, cloud, local),
        "BRAINROUTER_BRIDGE__ROOT": str(tmp_path),
        "BRAINROUTER_BRIDGE__SIGNAL__ENABLED": "true",
        "BRAINROUTER_BRIDGE__SIGNAL__URL": signal_cli.url,
        "BRAINROUTER_BRIDGE__DISCORD__ENABLED": "true",  # with no token: it cannot connect
        "BRAINROUTER_BRIDGE__DISCORD__TOKEN_ENV": "NO_SUCH_TOKEN_VARIABLE",
    }
    d = Daemon(env, tmp_path / "d.log").start()
    try:
        page = browser.new_page()
        page.goto(f"{d.url}/")
        expect(page.locator("#health-signal")).to_contain_text("connected")
        discord = page.locator("#health-discord")
        expect(discord).to_contain_text("retrying")
        expect(discord).to_contain_text("set the bot token in $NO_SUCH_TOKEN_VARIABLE")
        page.screenshot(path=str(ARTIFACTS / "dashboard-bridges.png"), full_page=True)
    finally:
        d.stop()
