"""Fixtures of the chat-bridge tests: a fake signal-cli and a fake Discord on loopback, and
how a chat user asks and waits for the answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_discord import FakeDiscord
from tests.fake_signal import FakeSignal

ME = "+15551230001"  # the allowed Signal number of the tests


@pytest.fixture
def signal_cli() -> Iterator[FakeSignal]:
    fake = FakeSignal().start()
    yield fake
    fake.stop()


@pytest.fixture
def discord() -> Iterator[FakeDiscord]:
    fake = FakeDiscord().start()
    yield fake
    fake.stop()


def ask(signal_cli: FakeSignal, text: str, replies: int = 1) -> str:
    """Send `text` as ME; wait for `replies` more messages back; the newest."""
    before = len(signal_cli.sent(ME))
    signal_cli.say(ME, text)
    signal_cli.wait_for(lambda: len(signal_cli.sent(ME)) >= before + replies)
    return signal_cli.sent(ME)[-1]
