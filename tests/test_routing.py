import httpx
import pytest

from proxy.routing import (
    Features,
    Router,
    RoutingError,
    RuleClassifier,
    conversation_key,
    parse_mode,
)
from proxy.settings import ProxySettings
from tests.fake_llm import FakeLLM
from tests.proxy_fixtures import openai_client
from tests.proxy_server import ServerThread


@pytest.mark.parametrize(
    ("model", "mode"),
    [
        ("auto", "auto"),
        ("brainrouter/local", "local"),
        ("brainrouter-cloud", "cloud"),
        ("CLOUD", "cloud"),
        ("gpt-5", None),
        ("claude-opus-4-8", None),
    ],
)
def test_parse_mode(model: str, mode: str | None) -> None:
    assert parse_mode(model) == mode


def _features(text: str, turns: int = 1) -> Features:
    return Features(latest_user_text=text, turns=turns)


def test_features_of_a_chat_request() -> None:
    chat = {
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {"type": "image_url", "image_url": {"url": "x"}},
                ],
            },
        ],
        "tools": [{}, {}],
    }
    f = Features.of(chat)
    assert (f.latest_user_text, f.turns) == ("look", 2)


async def _no_models() -> list[str]:
    return []


async def test_rule_based_auto_decision() -> None:
    settings = ProxySettings.model_validate(
        {
            "cloud": {"base_url": "http://c/v1", "model": "big"},
            "local": {"base_url": "http://l/v1", "model": "small"},
            "auto": {"cloud_min_chars": 100, "cloud_min_turns": 5},
        }
    )
    router = Router(settings, RuleClassifier(settings.auto), _no_models)
    short = await router.decide("auto", _features("hi"))
    assert (short.route, short.model, short.mode) == ("local", "small", "auto")
    assert short.score is not None and short.score < 0.5
    long = await router.decide("auto", _features("x" * 150))
    assert (long.route, long.model) == ("cloud", "big") and "long request" in long.reason
    chatty = await router.decide("brainrouter/auto", _features("hi", turns=6))
    assert chatty.route == "cloud"


async def test_a_local_task_escalated_by_review_leaves_local_on_its_next_continuation() -> None:
    settings = ProxySettings.model_validate(
        {
            "cloud": {"base_url": "http://c/v1", "model": "big"},
            "local": {"base_url": "http://l/v1", "model": "small"},
            "auto": {"cloud_min_chars": 100},
        }
    )
    router = Router(settings, RuleClassifier(settings.auto), _no_models)
    task = Features(latest_user_text="fix the typo", conversation_key="session:t")
    first = await router.decide("auto", task, "/work/p")
    assert first.route == "local"
    continuation = ("continuation", "a tool result")
    same = await router.decide("auto", task, "/work/p", continuation)
    assert same.route == "local" and "continues its task's local route" in same.reason
    router.escalations.escalate("/work/p", "rejected twice")
    moved = await router.decide("auto", task, "/work/p", continuation)
    assert moved.route == "cloud" and moved.reason.startswith("escalated: rejected twice")
    # The task's route is the cloud now: its continuations stay there once escalation ends
    # (approval); the user's next request is decided anew.
    router.escalations.clear("/work/p")
    assert (await router.decide("auto", task, "/work/p", continuation)).route == "cloud"


async def test_missing_upstreams_are_clear_errors() -> None:
    settings = ProxySettings.model_validate({"local": {"base_url": "http://l/v1"}})
    router = Router(settings, RuleClassifier(settings.auto), _no_models)
    with pytest.raises(RoutingError, match=r"proxy\.local\.model is not set"):
        await router.decide("local", _features("x"))
    with pytest.raises(RoutingError, match="no cloud upstream"):
        await router.decide("cloud", _features("x"))
    with pytest.raises(RoutingError, match="unknown model 'mystery'"):
        await router.decide("mystery", _features("x"))


def test_the_classifier_reads_the_users_words_not_what_claude_code_adds() -> None:
    """Claude Code wraps CLAUDE.md and todo state in <system-reminder> blocks inside user turns,
    and mid-loop the latest user turn holds only tool results and a reminder."""
    from proxy.translate import anthropic

    reminder = "<system-reminder>\n# claudeMd\nAlways run the tests.\n</system-reminder>"
    body = {
        "model": "brainrouter/auto",
        "max_tokens": 32000,
        "system": [{"type": "text", "text": "You are Claude Code."}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": reminder},
                    {
                        "type": "text",
                        "text": "Make the scheduler lock-free",
                        "cache_control": {"type": "ephemeral"},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "a.py"}}
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "print(1)"},
                    {
                        "type": "text",
                        "text": "<system-reminder>todo list is empty</system-reminder>",
                    },
                ],
            },
        ],
    }
    features = Features.of(anthropic.request_to_chat(body))
    assert features.latest_user_text == "Make the scheduler lock-free"


def test_the_classifier_reads_the_users_words_not_what_codex_adds() -> None:
    from proxy.translate import responses

    body = {
        "model": "brainrouter/auto",
        "input": [
            {
                "type": "message",
                "role": "developer",
                "content": [{"type": "input_text", "text": "You are Codex."}],
            },
            {
                "type": "message",
                "role": "user",
                "content": [
                    {
                        "type": "input_text",
                        "text": "# AGENTS.md instructions for /srv/app\n\n<INSTRUCTIONS>\nUse uv.\n</INSTRUCTIONS>",
                    }
                ],
            },
            {
                "type": "message",
                "role": "user",
                "content": [
                    {
                        "type": "input_text",
                        "text": "<environment_context>\n  <cwd>/srv/app</cwd>\n</environment_context>",
                    }
                ],
            },
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "rename foo to bar"}],
            },
            {"type": "function_call", "call_id": "c1", "name": "shell", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "ok"},
        ],
    }
    chat, _ = responses.request_to_chat(body)
    assert Features.of(chat).latest_user_text == "rename foo to bar"
    only_context = {"model": "auto", "input": body["input"][:3]}
    chat, _ = responses.request_to_chat(only_context)
    assert Features.of(chat).latest_user_text == ""


def test_one_conversation_one_key_and_boilerplate_does_not_join_conversations() -> None:
    boilerplate = {
        "role": "user",
        "content": "<environment_context><cwd>/srv</cwd></environment_context>",
    }

    def chat(*texts: str) -> dict[str, list[dict[str, str]]]:
        messages = [boilerplate]
        for text in texts:
            messages += [{"role": "user", "content": text}, {"role": "assistant", "content": "ok"}]
        return {"messages": messages}

    first = conversation_key({}, chat("fix the parser"), {})
    assert first is not None
    assert conversation_key({}, chat("fix the parser", "and the tests"), {}) == first
    assert conversation_key({}, chat("write the docs"), {}) != first
    assert conversation_key({}, {"messages": [boilerplate]}, {}) is None
    assert conversation_key({}, chat("x"), {"x-claude-code-session-id": "s1"}) == "session:s1"
    assert conversation_key({"prompt_cache_key": "c9"}, chat("x"), {}) == "session:c9"


def test_service_health_reports_each_stages_decision_latency(
    server: ServerThread, cloud: FakeLLM
) -> None:
    for _ in range(3):
        openai_client(server).chat.completions.create(
            model="auto", messages=[{"role": "user", "content": "refactor the scheduler"}]
        )
    stages = httpx.get(f"{server.url}/api/service-health").json()["classifier"]["stage_ms"]
    assert stages["features"]["n"] >= 1 and stages["features"]["p50"] >= 0
