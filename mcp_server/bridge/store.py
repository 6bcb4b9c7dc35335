"""Chat sessions kept in brainrouter's database (not JSON files): one row per Discord channel
or Signal conversation, with its working folder, route, and the agent's own conversation id
so the next message resumes it. Migrated by the daemon under bridge_schema_migrations."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, text
from sqlmodel import Field, SQLModel, select

from review.store import Store


def _now() -> datetime:
    return datetime.now(UTC)


class BridgeSession(SQLModel, table=True):
    __tablename__ = "bridge_sessions"

    platform: str = Field(primary_key=True, max_length=16)  # discord | signal
    conversation: str = Field(primary_key=True, max_length=256)  # channel id, number, group
    cwd: str
    route: str = "auto"  # auto | local | cloud | a model name
    agent: str | None = None  # which harness the agent conversation belongs to
    agent_session: str | None = None  # its id, to resume
    updated_at: datetime = Field(default_factory=_now)


def _m001_bridge_sessions(conn: Connection) -> None:
    conn.execute(
        text(
            """
            CREATE TABLE bridge_sessions (
                platform VARCHAR(16) NOT NULL,
                conversation VARCHAR(256) NOT NULL,
                cwd TEXT NOT NULL,
                route VARCHAR(256) NOT NULL,
                agent VARCHAR(32),
                agent_session VARCHAR(256),
                updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
                PRIMARY KEY (platform, conversation)
            )
            """
        )
    )


MIGRATIONS = [(1, "bridge sessions", _m001_bridge_sessions)]
MIGRATIONS_TABLE = "bridge_schema_migrations"


class SessionStore:
    """Reads and writes sessions in short transactions (call from a worker thread)."""

    def __init__(self, store: Store) -> None:
        from review.migrations import migrate

        self.store = store
        with store.engine.begin() as conn:
            migrate(conn, MIGRATIONS, table=MIGRATIONS_TABLE)

    def get(
        self, platform: str, conversation: str, default_cwd: str, default_route: str = "auto"
    ) -> BridgeSession:
        """The conversation's session; a new one (not stored yet) starts in `default_cwd`
        on `default_route`."""
        with self.store.transaction() as db:
            found = db.exec(
                select(BridgeSession).where(
                    BridgeSession.platform == platform,
                    BridgeSession.conversation == conversation,
                )
            ).first()
        return found or BridgeSession(
            platform=platform, conversation=conversation, cwd=default_cwd, route=default_route
        )

    def save(self, session: BridgeSession) -> None:
        values = session.model_dump()
        values["updated_at"] = _now()
        with self.store.transaction() as db:
            self.store.upsert(db, BridgeSession, values, ["platform", "conversation"])
