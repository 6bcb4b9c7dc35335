"""Plain, explicit schema migrations. Each runs once, in order, recorded in schema_migrations.

Never edit a migration that has shipped: add a new one. The SQL is kept to what SQLite and
PostgreSQL both accept, so `database_url` can point at either.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Connection, text

Migration = Callable[[Connection], None]


def _m001_initial(conn: Connection) -> None:
    conn.execute(
        text(
            """
            CREATE TABLE review_sessions (
                id VARCHAR(64) PRIMARY KEY,
                task_id VARCHAR(512) NOT NULL UNIQUE,
                project_dir TEXT,
                status VARCHAR(32) NOT NULL,
                iteration INTEGER NOT NULL DEFAULT 0,
                max_iterations INTEGER NOT NULL,
                reviewer VARCHAR(64),
                human_iteration INTEGER NOT NULL DEFAULT 0,
                human_feedback TEXT,
                human_verdict VARCHAR(32),
                escalation_reason TEXT,
                created_at TIMESTAMP WITH TIME ZONE NOT NULL,
                updated_at TIMESTAMP WITH TIME ZONE NOT NULL
            )
            """
        )
    )
    conn.execute(text("CREATE INDEX ix_review_sessions_task_id ON review_sessions (task_id)"))
    conn.execute(text("CREATE INDEX ix_review_sessions_updated ON review_sessions (updated_at)"))
    conn.execute(
        text(
            """
            CREATE TABLE review_rounds (
                id VARCHAR(64) PRIMARY KEY,
                session_id VARCHAR(64) NOT NULL REFERENCES review_sessions (id),
                iteration INTEGER NOT NULL,
                summary TEXT NOT NULL,
                details TEXT,
                conversation_history JSON,
                human_feedback TEXT,
                context_summary JSON,
                skipped_files JSON,
                prompt_chars INTEGER NOT NULL DEFAULT 0,
                prompt_tokens INTEGER NOT NULL DEFAULT 0,
                reviewer VARCHAR(64),
                model VARCHAR(256),
                raw_answer TEXT,
                status VARCHAR(32) NOT NULL,
                feedback TEXT,
                findings JSON,
                error TEXT,
                attempts INTEGER NOT NULL DEFAULT 0,
                started_at TIMESTAMP WITH TIME ZONE NOT NULL,
                finished_at TIMESTAMP WITH TIME ZONE,
                context_ms INTEGER,
                llm_ms INTEGER,
                total_ms INTEGER,
                UNIQUE (session_id, iteration)
            )
            """
        )
    )
    conn.execute(text("CREATE INDEX ix_review_rounds_session_id ON review_rounds (session_id)"))
    conn.execute(
        text(
            """
            CREATE TABLE settings (
                key VARCHAR(128) PRIMARY KEY,
                value JSON,
                updated_at TIMESTAMP WITH TIME ZONE NOT NULL
            )
            """
        )
    )


def _m002_review_gate(conn: Connection) -> None:
    """Who decided, review cycles, the owner of a running round, the diff each round saw."""
    for statement in (
        # Rounds after this iteration count towards the next escalation (a new cycle starts
        # after an approval of a changed diff, or a human's verdict).
        "ALTER TABLE review_sessions ADD COLUMN cycle_start INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE review_sessions ADD COLUMN approved_fingerprint VARCHAR(64)",
        "ALTER TABLE review_sessions ADD COLUMN human_by VARCHAR(16)",
        "UPDATE review_sessions SET cycle_start = human_iteration",
        "ALTER TABLE review_rounds ADD COLUMN owner VARCHAR(256)",
        "ALTER TABLE review_rounds ADD COLUMN fingerprint VARCHAR(64)",
        "ALTER TABLE review_rounds ADD COLUMN diff TEXT",
        "ALTER TABLE review_rounds ADD COLUMN redactions JSON",
        """
        CREATE TABLE human_verdicts (
            id VARCHAR(64) PRIMARY KEY,
            session_id VARCHAR(64) NOT NULL REFERENCES review_sessions (id),
            iteration INTEGER NOT NULL,
            status VARCHAR(32) NOT NULL,
            feedback TEXT NOT NULL,
            given_by VARCHAR(16) NOT NULL,
            created_at TIMESTAMP WITH TIME ZONE NOT NULL
        )
        """,
        "CREATE INDEX ix_human_verdicts_session_id ON human_verdicts (session_id)",
    ):
        conn.execute(text(statement))


def _m003_route_escalation(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE review_sessions ADD COLUMN route_escalation TEXT"))


MIGRATIONS: list[tuple[int, str, Migration]] = [
    (1, "initial review schema", _m001_initial),
    (2, "review gate: verdict sources, cycles, round owners, diffs", _m002_review_gate),
    (3, "review-driven escalation to the cloud route", _m003_route_escalation),
]


def _ensure_table(conn: Connection, table: str) -> None:
    conn.execute(
        text(
            f"CREATE TABLE IF NOT EXISTS {table} ("
            "version INTEGER PRIMARY KEY, name VARCHAR(256) NOT NULL, applied_at TIMESTAMP WITH TIME ZONE NOT NULL)"
        )
    )


def current_version(conn: Connection, table: str = "schema_migrations") -> int:
    _ensure_table(conn, table)
    value = conn.execute(text(f"SELECT MAX(version) FROM {table}")).scalar()
    return int(value or 0)


def migrate(
    conn: Connection,
    migrations: Sequence[tuple[int, str, Migration]] | None = None,
    table: str = "schema_migrations",
) -> list[int]:
    """Apply pending migrations inside the caller's transaction; returns the versions applied.

    The caller holds a write lock (SQLite BEGIN IMMEDIATE), so two processes starting at once
    cannot both apply the same migration. Each component keeps its own `table` of applied
    versions (the proxy's migrations are applied by the daemon under proxy_schema_migrations).
    """
    applied: list[int] = []
    done = current_version(conn, table)
    for version, name, step in migrations or MIGRATIONS:
        if version <= done:
            continue
        step(conn)
        conn.execute(
            text(
                f"INSERT INTO {table} (version, name, applied_at) "
                "VALUES (:v, :n, CURRENT_TIMESTAMP)"
            ),
            {"v": version, "n": name},
        )
        applied.append(version)
    return applied
