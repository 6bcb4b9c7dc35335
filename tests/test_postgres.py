"""The same store and review loop on a real PostgreSQL server (`database_url`). scripts/test
starts one where Debian's postgresql package can be installed; skipped, saying why, without."""

from __future__ import annotations

import os
from collections.abc import Iterator

import git
import pytest
from sqlalchemy import text
from sqlmodel import select

from mcp_server.config import Settings
from mcp_server.wiring import ReviewRuntime
from proxy.events import MIGRATIONS, MIGRATIONS_TABLE, EventRecorder
from review.migrations import migrate
from review.models import ReviewRound, ReviewSession
from review.request import ReviewRequest
from review.settings import ReviewSettings
from review.status import VerdictSource
from review.store import Store, make_engine
from tests.concurrent_worker import run_two_writers
from tests.conftest import root_of
from tests.fake_llm import FakeLLM, revise

TABLES = (
    "human_verdicts",
    "review_rounds",
    "review_sessions",
    "settings",
    "schema_migrations",
    "routing_events",
    "usage_ledger",
    "proxy_schema_migrations",
    "bridge_sessions",
    "bridge_schema_migrations",
)


@pytest.fixture
def pg_url() -> Iterator[str]:
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        pytest.skip(
            "TEST_POSTGRES_URL is not set (scripts/test sets it when it can start PostgreSQL)"
        )

    def drop() -> None:
        engine = make_engine(url)
        with engine.begin() as conn:
            for table in TABLES:
                conn.execute(text(f"DROP TABLE IF EXISTS {table} CASCADE"))
        engine.dispose()

    drop()
    yield url
    drop()


async def test_review_loop_on_postgres(pg_url: str, project: git.Repo, fake_llm: FakeLLM) -> None:
    settings = Settings(
        database_url=pg_url,
        review=ReviewSettings.model_validate(
            {"mode": "local", "max_iterations": 2, "local": {"base_url": fake_llm.base_url}}
        ),
    )
    runtime = ReviewRuntime(settings)
    try:
        service = await runtime.service()
        fake_llm.default = revise("not yet")
        request = ReviewRequest(task_id="pg-task", summary="summary", cwd=str(root_of(project)))
        assert (await service.request_review(request)).status == "needs_revision"
        assert (await service.request_review(request)).status == "escalated"
        resolved = await service.resolve("pg-task", "ship it", VerdictSource.CLI)
        assert resolved.status == "approved" and len(resolved.rounds) == 2
        service.config.set("local", "qwen")
        assert service.config.get() == ("local", "qwen")
    finally:
        await runtime.aclose()


async def test_routing_events_on_postgres(pg_url: str) -> None:
    store = Store(pg_url)
    with store.engine.begin() as conn:
        migrate(conn, MIGRATIONS, table=MIGRATIONS_TABLE)
    recorder = EventRecorder(store.engine, max_events=5)
    for i in range(12):
        recorder.record(
            mode="auto",
            upstream="cloud" if i % 3 else "local",
            status="ok",
            fallback=i == 2,
            input_tokens=3,
            output_tokens=4,
        )
    assert len(await recorder.recent(50)) == 5
    stats = await recorder.stats()
    assert stats["total"] == 5
    # the usage ledger keeps every request, pruned events included (upserted on PostgreSQL)
    ledger = {row["upstream"]: row for row in await recorder.ledger()}
    assert ledger["cloud"]["requests"] == 8 and ledger["local"]["requests"] == 4
    assert ledger["cloud"]["input_tokens"] == 24 and ledger["cloud"]["output_tokens"] == 32
    await recorder.stop()
    store.close()


def test_two_processes_writing_at_once_on_postgres(
    pg_url: str, project: git.Repo, fake_llm: FakeLLM
) -> None:
    Store(pg_url).close()
    assert run_two_writers(pg_url, fake_llm.base_url, str(root_of(project)), 8) == []
    store = Store(pg_url)
    try:
        with store.transaction() as db:
            assert len(db.exec(select(ReviewSession)).all()) == 16
            assert len(db.exec(select(ReviewRound)).all()) == 16
    finally:
        store.close()


def test_chat_bridge_sessions_on_postgres(pg_url: str) -> None:
    from mcp_server.bridge.store import SessionStore

    store = Store(pg_url)
    try:
        sessions = SessionStore(store)
        fresh = sessions.get("signal", "group:abc", "/home/me", "local")
        assert (fresh.cwd, fresh.route, fresh.agent_session) == ("/home/me", "local", None)
        fresh.agent, fresh.agent_session = "claude", "sess-1"
        sessions.save(fresh)
        fresh.route = "cloud"
        sessions.save(fresh)  # the same row, updated
        again = SessionStore(store).get("signal", "group:abc", "/elsewhere")
        assert (again.cwd, again.route, again.agent_session) == ("/home/me", "cloud", "sess-1")
    finally:
        store.close()
