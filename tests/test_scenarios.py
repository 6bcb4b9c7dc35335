"""Scenario routing (proxy/scenarios.py): what a request is, read from the wire, and where
config sends each kind; the recorded Claude Code request is a main turn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from proxy.formats import FORMATS
from proxy.scenarios import detect
from proxy.settings import ScenarioSettings
from tests.daemon import Daemon
from tests.fake_llm import FakeLLM

FIXTURES = Path(__file__).with_name("fixtures")


def _call(call_id: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": "bash", "arguments": "{}"}}


def _detect(
    body: dict[str, Any],
    protocol: str = "openai",
    headers: dict[str, str] | None = None,
    **settings: Any,
) -> str:
    chat, _names = FORMATS[protocol].request_to_chat(body)  # type: ignore[index]
    return detect(body, chat, ScenarioSettings(**settings), headers)[0]


def _recorded(name: str) -> dict[str, Any]:
    """A request Claude Code 2.1 sent (tests/fixtures): path, headers, body."""
    return dict(json.loads((FIXTURES / f"claude-code-{name}.json").read_text()))


def _chat(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "auto", "messages": [{"role": "user", "content": text}], **extra}


def test_what_each_request_is() -> None:
    assert _detect(_chat("hi")) == "main"
    assert _detect({**_chat("title this"), "model": "claude-haiku-4-5"}) == "background"
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    assert _detect(_chat([{"type": "text", "text": "what is this"}, image])) == "images"  # type: ignore[arg-type]
    assert _detect(_chat("x " * 50_000), long_context_tokens=10_000) == "long_context"
    thinking = {
        "model": "auto",
        "max_tokens": 32000,
        "thinking": {"type": "enabled", "budget_tokens": 16000},
        "messages": [{"role": "user", "content": "prove it"}],
    }
    assert _detect(thinking, "anthropic") == "thinking"
    effort = {"model": "auto", "input": "plan it", "reasoning": {"effort": "high"}}
    assert _detect(effort, "responses") == "thinking"
    recorded = json.loads((FIXTURES / "claude-code-request.json").read_text())["body"]
    assert recorded["thinking"] and recorded["messages"]
    assert _detect(recorded, "anthropic") == "main"  # Claude Code's adaptive thinking is normal


def test_recorded_subagent_and_continuation_requests() -> None:
    # Claude Code's Agent tool: the subagent's request names its agent in a header and in the
    # billing line of its system prompt (either is enough).
    sub = _recorded("subagent-request")
    assert _detect(sub["body"], "anthropic", sub["headers"]) == "subagent"
    assert _detect(sub["body"], "anthropic") == "subagent"
    # The parent getting the Agent tool's result back: a continuation.
    more = _recorded("continuation-request")
    assert _detect(more["body"], "anthropic", more["headers"]) == "continuation"
    tool_loop: dict[str, Any] = {
        "model": "auto",
        "messages": [
            {"role": "user", "content": "fix it"},
            {"role": "assistant", "tool_calls": [_call("c1")]},
            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        ],
    }
    assert _detect(tool_loop) == "continuation"
    tool_loop["messages"].append({"role": "user", "content": "and now this"})
    assert _detect(tool_loop) == "main"  # the user spoke again: a new decision


def test_recorded_title_requests_are_background_though_they_name_the_main_model() -> None:
    # Claude Code 2.1 (interactive), opencode 1.18 and Codex ask for a session title with the
    # model of the session and no tools; their agent turns always carry tools.
    titles = (
        ("claude-code-title", "anthropic"),
        ("opencode-title", "openai"),
        ("codex-title", "responses"),  # Codex 0.171's TUI
    )
    for name, protocol in titles:
        recorded = json.loads((FIXTURES / f"{name}-request.json").read_text())
        assert recorded["body"]["model"] in ("claude-opus-4-8", "auto")
        assert _detect(recorded["body"], protocol, recorded["headers"]) == "background", name
    turn = json.loads((FIXTURES / "opencode-request.json").read_text())
    assert _detect(turn["body"], "openai", turn["headers"]) == "main"
    claude = {"user-agent": "claude-cli/2.1.197 (external, cli)", "x-app": "cli"}
    long = {"model": "x", "max_tokens": 9, "messages": [{"role": "user", "content": "y " * 9000}]}
    assert _detect(long, "anthropic", claude, long_context_tokens=1000) == "long_context"
    # Without tools from a client that is not a coding agent: an ordinary request.
    assert _detect(_chat("hi"), headers={"user-agent": "OpenAI/Python 1.60"}) == "main"


def test_same_is_only_for_continuations() -> None:
    with pytest.raises(ValueError, match=r"scenarios\.images: `same` is only for continuation"):
        ScenarioSettings(images="same")


@pytest.fixture
def daemon(tmp_path: Path, cloud: FakeLLM, local: FakeLLM) -> Daemon:
    env = {
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
        "BRAINROUTER_PROXY__MODEL__ENABLED": "false",
        "BRAINROUTER_PROXY__CLOUD__BASE_URL": cloud.base_url,
        "BRAINROUTER_PROXY__CLOUD__MODEL": "big-model",
        "BRAINROUTER_PROXY__LOCAL__BASE_URL": local.base_url,
        "BRAINROUTER_PROXY__LOCAL__MODEL": "small-model",
        "BRAINROUTER_PROXY__CLASSIFIER__THRESHOLD": "1.0",  # auto alone would go local
        "BRAINROUTER_PROXY__SCENARIOS__IMAGES": "cloud",
        "BRAINROUTER_PROXY__SCENARIOS__SUBAGENT": "local",
    }
    return Daemon(env, tmp_path / "d.log")


def _last_event(d: Daemon) -> dict[str, Any]:
    return dict(httpx.get(f"{d.url}/api/routing-events", params={"limit": 1}).json()["events"][0])


def test_config_routes_each_kind(daemon: Daemon) -> None:
    d = daemon.start()
    try:
        post = f"{d.url}/v1/chat/completions"
        # Claude Code's small/fast model, for titles and summaries: local by default
        httpx.post(post, json={**_chat("Write a 5-word title"), "model": "claude-haiku-4-5"})
        event = _last_event(d)
        assert event["upstream"] == "local" and event["scenario"] == "background"
        assert "scenario background" in event["reason"]
        image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
        httpx.post(post, json=_chat([{"type": "text", "text": "what is this"}, image]))  # type: ignore[arg-type]
        event = _last_event(d)
        assert event["upstream"] == "cloud" and event["scenario"] == "images"
        # asked for by name: not overridden
        httpx.post(post, json={**_chat([image]), "model": "local"})  # type: ignore[arg-type]
        assert _last_event(d)["upstream"] == "local"
        httpx.post(post, json=_chat("rename x"))
        event = _last_event(d)
        assert event["upstream"] == "local" and event["scenario"] == "main"
        counts = httpx.get(f"{d.url}/api/dashboard").json()["totals"]["by_scenario"]
        assert counts == {"background": 1, "images": 2, "main": 1}
    finally:
        d.stop()


def _continued(body: dict[str, Any], call_id: str) -> dict[str, Any]:
    """`body` (Messages) after the model called a tool and got its result."""
    use = {"type": "tool_use", "id": call_id, "name": "Read", "input": {"file_path": "a.py"}}
    result = {"type": "tool_result", "tool_use_id": call_id, "content": "print(1)"}
    return {
        **body,
        "messages": [
            *body["messages"],
            {"role": "assistant", "content": [use]},
            {"role": "user", "content": [result]},
        ],
    }


def test_continuations_keep_their_task_route_and_subagents_are_routed_apart(
    daemon: Daemon,
) -> None:
    d = daemon.start()
    try:
        chat = f"{d.url}/v1/chat/completions"
        image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
        first = _chat([{"type": "text", "text": "what is wrong here"}, image])  # type: ignore[arg-type]
        task = {"x-claude-code-session-id": "task-1"}
        httpx.post(chat, json=first, headers=task)
        assert _last_event(d)["upstream"] == "cloud"  # scenario images → cloud
        more = {
            **_chat("what is wrong here"),
            "messages": [
                {"role": "user", "content": "what is wrong here"},
                {"role": "assistant", "tool_calls": [_call("c1")]},
                {"role": "tool", "tool_call_id": "c1", "content": "ok"},
            ],
        }
        httpx.post(chat, json=more, headers=task)
        event = _last_event(d)
        assert (event["upstream"], event["scenario"]) == ("cloud", "continuation")
        assert "continues its task's cloud route (scenario images" in event["reason"]
        # Another task's continuation has no route yet: auto decides (local here).
        httpx.post(chat, json=more, headers={"x-claude-code-session-id": "task-2"})
        assert _last_event(d)["upstream"] == "local"

        # Claude Code's Agent tool, as recorded: the subagent goes where config says ...
        messages = f"{d.url}/v1/messages"
        sub = _recorded("subagent-request")
        headers = {k: v for k, v in sub["headers"].items() if k.startswith(("x-", "anthropic"))}
        assert httpx.post(messages, json=sub["body"], headers=headers).status_code == 200
        event = _last_event(d)
        assert (event["upstream"], event["scenario"]) == ("local", "subagent")
        # ... its own tool loop stays with it ...
        httpx.post(messages, json=_continued(sub["body"], "toolu_9"), headers=headers)
        event = _last_event(d)
        assert (event["upstream"], event["scenario"]) == ("local", "continuation")
        assert "continues its task's local route (scenario subagent" in event["reason"]
        # ... and the parent's next request (its own task) is not moved by it.
        parent = _recorded("continuation-request")
        parent_headers = {k: v for k, v in parent["headers"].items() if k.startswith("x-")}
        httpx.post(messages, json=parent["body"], headers=parent_headers)
        event = _last_event(d)
        assert (event["upstream"], event["scenario"]) == ("cloud", "continuation")
        assert "continues" not in event["reason"]  # claude-sonnet-5: a model the cloud serves
    finally:
        d.stop()


def test_background_requests_never_go_to_the_embedded_model_unless_asked(tmp_path: Path) -> None:
    from mcp_server.config import Settings
    from mcp_server.wiring import ProxyRuntime
    from review.store import Store

    store = Store(f"sqlite:///{tmp_path / 'w.db'}")
    embedded = ProxyRuntime(Settings(), store)  # no local server: the embedded model serves it
    assert embedded.embedded_local and embedded.service.settings.scenarios.background is None
    asked = Settings.model_validate({"proxy": {"scenarios": {"background": "local"}}})
    assert ProxyRuntime(asked, store).service.settings.scenarios.background == "local"
    server = Settings.model_validate({"proxy": {"local": {"base_url": "http://127.0.0.1:9/v1"}}})
    assert ProxyRuntime(server, store).service.settings.scenarios.background == "local"
