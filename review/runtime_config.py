"""The review mode in force: config gives the default, the dashboard/API may override it.

Overrides live in the database so they survive restarts and are shared by every process.
"""

from __future__ import annotations

import secrets
from typing import get_args

from review.models import Setting, utcnow
from review.settings import ReviewMode, ReviewSettings
from review.store import Store

_KEY = "review_mode"


class ReviewConfigStore:
    def __init__(self, store: Store, settings: ReviewSettings) -> None:
        self._store = store
        self._settings = settings

    def get(self) -> tuple[ReviewMode, str | None]:
        with self._store.transaction() as db:
            row = db.get(Setting, _KEY)
            value = row.value if row is not None and isinstance(row.value, dict) else {}
        mode = value.get("mode", self._settings.mode)
        if mode not in get_args(ReviewMode):
            mode = self._settings.mode
        return mode, value.get("local_model") or self._settings.local_model

    def set(self, mode: str, local_model: str | None = None) -> tuple[ReviewMode, str | None]:
        if mode not in get_args(ReviewMode):
            raise ValueError(f"mode must be one of {', '.join(get_args(ReviewMode))}, got {mode!r}")
        if local_model is not None and not local_model.strip():
            local_model = None
        with self._store.transaction() as db:
            value = {"mode": mode, "local_model": local_model}
            self._store.upsert(
                db, Setting, {"key": _KEY, "value": value, "updated_at": utcnow()}, ["key"]
            )
        return mode, local_model  # type: ignore[return-value]


def shared_secret(store: Store, name: str) -> str:
    """A random secret kept in the database, made by whichever process asks first: several
    daemons on one PostgreSQL (or a restarted one) agree on it, e.g. to check CSRF tokens."""
    key = f"secret:{name}"
    with store.transaction() as db:
        store.insert_absent(
            db, Setting, {"key": key, "value": secrets.token_urlsafe(32), "updated_at": utcnow()}
        )
    with store.transaction() as db:
        row = db.get(Setting, key)
        assert row is not None and isinstance(row.value, str)
        return row.value
