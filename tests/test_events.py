from pathlib import Path

from proxy.events import MIGRATIONS, MIGRATIONS_TABLE, EventRecorder, project_dir_of
from proxy.harnesses import harness_of
from review.migrations import migrate
from review.store import Store
from tests.proxy_fixtures import anthropic_client, routing_events
from tests.proxy_server import ServerThread


def test_project_dir_and_harness_detection() -> None:
    assert project_dir_of("blah\nWorking directory: /home/me/app\nmore") == "/home/me/app"
    assert (
        project_dir_of("<environment_context><cwd>/srv/x</cwd></environment_context>") == "/srv/x"
    )
    assert project_dir_of("nothing here") is None
    assert harness_of("claude-cli/2.1.3 (external, cli)", {}) == "claude-code"
    assert harness_of("codex_cli_rs/0.160.0", {}) == "codex"
    assert harness_of("", {"x-app": "cli"}) == "claude-code"
    # vibe and pi name only their HTTP library; `brainrouter install` has them say who they are
    assert harness_of("python-httpx/0.28.1", {"x-brainrouter-harness": "vibe"}) == "vibe"
    assert harness_of("OpenAI/JS 6.2.0", {"x-brainrouter-harness": "PI"}) == "pi"
    assert harness_of("python-httpx/0.28.1", {"x-brainrouter-harness": "x" * 500}) == "python-httpx"


async def test_events_are_written_in_batches_and_pruned(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'e.db'}")
    with store.engine.begin() as conn:
        migrate(conn, MIGRATIONS, table=MIGRATIONS_TABLE)
    recorder = EventRecorder(store.engine, max_events=10)
    for i in range(25):
        recorder.record(
            mode="auto",
            upstream="local" if i % 5 else "cloud",
            status="ok",
            fallback=i == 3,
            prompt_excerpt="x" * 1000,
            input_tokens=1,
            output_tokens=2,
        )
    recent = await recorder.recent(100)
    assert len(recent) == 10  # pruned to max_events when written
    assert all(len(e["prompt_excerpt"]) == 300 for e in recent)
    stats = await recorder.stats()
    assert stats["total"] == 10
    await recorder.stop()
    store.close()


async def test_a_busy_database_delays_events_without_losing_them_or_blocking(
    tmp_path: Path,
) -> None:
    import sqlite3
    import time

    db = tmp_path / "busy.db"
    store = Store(f"sqlite:///{db}")
    with store.engine.begin() as conn:
        migrate(conn, MIGRATIONS, table=MIGRATIONS_TABLE)
    recorder = EventRecorder(store.engine, max_events=100)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    for _ in range(3):
        recorder.record(mode="auto", upstream="local", status="ok")
    started = time.monotonic()
    await recorder.flush()
    assert time.monotonic() - started < 5  # it gave up quickly instead of waiting 30 s
    other.execute("ROLLBACK")
    other.close()
    assert len(await recorder.recent(10)) == 3  # kept, and written once the lock was gone
    await recorder.stop()
    store.close()


def test_claude_code_2_1_project_folder_is_found(server: ServerThread) -> None:
    system = (
        "You are Claude Code, Anthropic's official CLI for Claude.\n<env>\n"
        "Primary working directory: /home/dev/shop\nIs directory a git repo: Yes\n"
        "Platform: linux\n</env>"
    )
    anthropic_client(server).messages.create(
        model="cloud",
        max_tokens=5,
        system=system,
        messages=[{"role": "user", "content": "hi"}],
    )
    assert routing_events(server)[0]["project_dir"] == "/home/dev/shop"


async def test_pruning_never_blocks_the_event_loop(tmp_path: Path) -> None:
    import asyncio
    import threading

    store = Store(f"sqlite:///{tmp_path / 'e.db'}")
    with store.engine.begin() as conn:
        migrate(conn, MIGRATIONS, table=MIGRATIONS_TABLE)
    recorder = EventRecorder(store.engine, max_events=10)
    held, entered = threading.Event(), threading.Event()

    def slow_prune() -> None:  # as if another process held the database's write lock
        entered.set()
        held.wait(10)

    recorder._prune_now = slow_prune  # type: ignore[method-assign]
    try:
        recorder.record(status="ok", upstream="cloud")
        await asyncio.wait_for(recorder.flush(), 5)  # the write returns at once...
        await asyncio.wait_for(asyncio.to_thread(entered.wait, 5), 6)
        assert not held.is_set()  # ...while the pruning still waits, in its own thread
        assert [e["status"] for e in await asyncio.wait_for(recorder.recent(), 5)] == ["ok"]
    finally:
        held.set()
        recorder._writer.shutdown(wait=True)
        store.close()
