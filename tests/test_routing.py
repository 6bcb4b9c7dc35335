import pytest

from proxy.routing import Features, Router, RoutingError, RuleClassifier, parse_mode
from proxy.settings import ProxySettings


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
    return Features(
        latest_user_text=text, total_chars=len(text), turns=turns, tools=0, has_images=False
    )


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
    assert (f.latest_user_text, f.turns, f.tools, f.has_images) == ("look", 2, 2, True)


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


async def test_missing_upstreams_are_clear_errors() -> None:
    settings = ProxySettings.model_validate({"local": {"base_url": "http://l/v1"}})
    router = Router(settings, RuleClassifier(settings.auto), _no_models)
    with pytest.raises(RoutingError, match=r"proxy\.local\.model is not set"):
        await router.decide("local", _features("x"))
    with pytest.raises(RoutingError, match="no cloud upstream"):
        await router.decide("cloud", _features("x"))
    with pytest.raises(RoutingError, match="unknown model 'mystery'"):
        await router.decide("mystery", _features("x"))
