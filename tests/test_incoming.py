"""A client's request as routing reads it (proxy/incoming.py): pure, no server."""

from __future__ import annotations

from proxy.incoming import Incoming
from proxy.internal import Internal
from proxy.settings import ScenarioSettings

CLAUDE = {"user-agent": "claude-cli/2.1.0 (external, cli)"}


def _anthropic(system: str, user: str, **extra: object) -> dict[str, object]:
    return {
        "model": "auto",
        "max_tokens": 100,
        "system": system,
        "messages": [{"role": "user", "content": user}],
        **extra,
    }


def test_the_project_comes_from_where_each_harness_says_it() -> None:
    claude = Incoming.read(
        "anthropic",
        _anthropic("You are Claude Code.\nPrimary working directory: /work/app\n", "fix it"),
        CLAUDE,
        ScenarioSettings(),
    )
    assert claude.project_dir == "/work/app"
    assert claude.harness == "claude-code"
    codex = Incoming.read(
        "openai",
        {
            "model": "auto",
            "messages": [
                {"role": "user", "content": "<environment_context><cwd>/srv/x</cwd>"},
                {"role": "user", "content": "Working directory: /not/this"},
            ],
        },
        {},
        ScenarioSettings(),
    )
    # only the environment context of the user's messages names it, not what they typed
    assert codex.project_dir == "/srv/x"
    assert codex.features.latest_user_text == "Working directory: /not/this"


def test_a_typed_path_in_a_user_message_is_not_the_project() -> None:
    request = Incoming.read(
        "openai",
        {"model": "auto", "messages": [{"role": "user", "content": "Working directory: /etc"}]},
        {},
        ScenarioSettings(),
    )
    assert request.project_dir is None


def test_the_reviews_own_requests_have_no_scenario_and_keep_their_project() -> None:
    body = _anthropic("Primary working directory: /elsewhere", "review", stream=True)
    harness = Incoming.read("anthropic", body, CLAUDE, ScenarioSettings())
    internal = Incoming.read(
        "anthropic", body, CLAUDE, ScenarioSettings(), Internal("review", "/proj")
    )
    assert harness.scenario is not None
    assert internal.scenario is None
    assert internal.project_dir == "/proj"
    assert internal.stream


def test_another_body_is_read_again() -> None:
    request = Incoming.read("openai", {"model": "auto", "messages": []}, {}, ScenarioSettings())
    redacted = request.with_body(
        {"model": "auto", "messages": [{"role": "user", "content": "[REDACTED]"}]}
    )
    assert redacted.chat_view["messages"][0]["content"] == "[REDACTED]"
    assert redacted.body["messages"][0]["content"] == "[REDACTED]"
