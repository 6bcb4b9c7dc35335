"""A platform connection that fails is retried with growing delays; its errors never show
the platform's secrets."""

from __future__ import annotations

import asyncio

import pytest

from mcp_server.bridge.supervisor import Supervisor


async def test_failures_back_off_and_hide_the_token() -> None:
    waits: list[float] = []
    attempts = 0

    async def serve() -> None:
        nonlocal attempts
        attempts += 1
        raise ConnectionError("login with token abc.secret.xyz refused")

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 4:
            raise asyncio.CancelledError

    supervisor = Supervisor("discord", serve, lambda: ["abc.secret.xyz"], sleep=sleep)
    with pytest.raises(asyncio.CancelledError):
        await supervisor.run()
    assert attempts == 4
    # 1, 2, 4, 8 s, each ±20%
    for wait, base in zip(waits, [1, 2, 4, 8], strict=True):
        assert base * 0.8 <= wait <= base * 1.2
    status = supervisor.status.as_dict()
    assert status["retries"] == 4 and status["state"] == "retrying"
    assert "abc.secret.xyz" not in str(status) and "[hidden]" in status["last_error"]


async def test_a_connection_reported_up_clears_the_error() -> None:
    supervisor = Supervisor("signal", lambda: asyncio.sleep(0))
    supervisor.status.last_error = "old"
    supervisor.connected()
    assert supervisor.status.state == "connected" and supervisor.status.last_error is None
    supervisor.disconnected()
    assert supervisor.status.state == "reconnecting"
