"""The database: versioned migrations, WAL, and several writer processes losing nothing."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import git
import pytest
from sqlalchemy import Connection, text
from sqlmodel import select

from review import migrations
from review.loop import ReviewService
from review.models import ReviewRound, ReviewSession
from review.store import Store, StoreError
from tests.concurrent_worker import run_two_writers
from tests.fake_llm import FakeLLM


def test_new_database_is_migrated_to_the_latest_version(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'b.db'}")
    try:
        assert store.schema_version() == migrations.MIGRATIONS[-1][0]
        assert store.applied_migrations == [m[0] for m in migrations.MIGRATIONS]
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        store.close()
    again = Store(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'b.db'}")
    assert again.applied_migrations == []  # reopening applies nothing twice
    again.close()


def test_a_later_migration_upgrades_an_existing_database_keeping_its_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = Store(url)
    with store.transaction() as db:
        db.add(ReviewSession(id="s1", task_id="old-task", max_iterations=5))
    store.close()

    def add_column(conn: Connection) -> None:
        conn.execute(text("ALTER TABLE review_sessions ADD COLUMN label TEXT"))

    upgraded = [*migrations.MIGRATIONS, (99, "add label", add_column)]
    store = Store(url)
    with store.engine.begin() as conn:
        assert migrations.migrate(conn, upgraded) == [99]
        assert migrations.migrate(conn, upgraded) == []
        assert conn.execute(text("SELECT task_id, label FROM review_sessions")).all() == [
            ("old-task", None)
        ]
    store.close()


def test_unopenable_database_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    try:
        Store(f"sqlite:///{bad}")
    except StoreError as exc:
        assert "cannot open database" in str(exc)
        assert bad.read_bytes() == b"this is not sqlite" * 100  # nothing overwritten
    else:
        raise AssertionError("expected StoreError")


def test_two_processes_writing_at_once_lose_nothing(
    tmp_path: Path, project: git.Repo, fake_llm: FakeLLM
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    Store(url).close()  # migrate first so both workers start on the same schema
    rounds = 12
    assert run_two_writers(url, fake_llm.base_url, str(project.working_tree_dir), rounds) == []

    store = Store(url)
    try:
        with store.transaction() as db:
            sessions = db.exec(select(ReviewSession)).all()
            round_rows = db.exec(select(ReviewRound)).all()
    finally:
        store.close()
    assert len(sessions) == 2 * rounds
    assert all(s.status == "approved" and s.human_verdict == "approved" for s in sessions)
    assert len(round_rows) == 2 * rounds
    assert all(r.status == "approved" and r.finished_at is not None for r in round_rows)


async def test_a_full_disk_is_a_clear_retryable_error_and_loses_nothing(
    service: ReviewService, project: git.Repo, fake_llm: FakeLLM
) -> None:
    from sqlalchemy import event

    from review.errors import ReviewUnavailable
    from review.request import ReviewRequest

    cwd = str(project.working_tree_dir)
    before = await service.request_review(ReviewRequest(task_id="stored", summary="first", cwd=cwd))
    assert before.status == "approved"
    engine = service.store.engine
    with engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

    # The database may not grow: the next large write finds the "disk" full.
    @event.listens_for(engine, "connect")
    def _cap(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count={pages}")

    engine.dispose()
    with pytest.raises(ReviewUnavailable, match="disk is full"):
        await service.request_review(
            ReviewRequest(
                task_id="big",
                summary="big",
                cwd=cwd,
                conversation_history=["x" * 100_000] * 20,
            )
        )
    event.remove(engine, "connect", _cap)
    engine.dispose()
    listing = await service.list_sessions()
    assert [s.task_id for s in listing.sessions] == ["stored"]
    assert (await service.session_details("stored")).rounds[0].status == "approved"
    # Times come back as the UTC they were stored in, zone included (SQLite drops it).
    stored = listing.sessions[0]
    assert stored.updated_at is not None and stored.updated_at.utcoffset() == timedelta(0)


def test_migrated_schema_matches_the_models(tmp_path: Path) -> None:
    """The tables are written twice (SQLModel models, migration DDL): they must agree."""
    from sqlalchemy import inspect

    from review.models import HumanVerdict, Setting

    store = Store(f"sqlite:///{tmp_path / 'schema.db'}")
    try:
        inspector = inspect(store.engine)
        for model in (ReviewSession, ReviewRound, HumanVerdict, Setting):
            table = model.__table__  # type: ignore[attr-defined,union-attr]
            migrated = {c["name"]: c for c in inspector.get_columns(table.name)}
            assert set(migrated) == {c.name for c in table.columns}, table.name
            for column in table.columns:
                if column.primary_key:
                    continue
                # A column the model requires is NOT NULL in the database (or has a default).
                if not column.nullable:
                    assert not migrated[column.name]["nullable"] or column.default, (
                        f"{table.name}.{column.name}"
                    )
    finally:
        store.close()


def test_a_shared_secret_is_the_same_for_every_process_on_one_database(tmp_path: Path) -> None:
    from review.runtime_config import shared_secret

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = Store(url), Store(url)  # two daemons on one database
    try:
        token = shared_secret(first, "csrf")
        assert len(token) >= 40
        assert shared_secret(second, "csrf") == token
        assert shared_secret(second, "other") != token
    finally:
        first.close()
        second.close()
    again = Store(url)  # and after a restart
    try:
        assert shared_secret(again, "csrf") == token
    finally:
        again.close()
