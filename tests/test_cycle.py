"""Reserving a round (review/cycle.py) on a real SQLite file: the next iteration, a round
already running, an interrupted round, an approval that covers the same diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from review import cycle
from review.errors import ReviewInputError
from review.models import ReviewRound, ReviewSession
from review.request import ReviewRequest
from review.settings import ReviewSettings
from review.status import RoundStatus, SessionStatus
from review.store import Store


def _reserve(store: Store, fingerprint: str = "diff-1") -> cycle.Reserved:
    request = ReviewRequest(task_id="t-1", summary="did it", cwd="/work/p")
    return cycle.reserve(
        store, ReviewSettings(), request, "/work/p", fingerprint, lambda i: f"/review/{i}"
    )


def test_a_second_call_while_a_round_runs_is_refused_until_it_is_interrupted(
    tmp_path: Path,
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    first = _reserve(store)
    assert first.round is not None and first.round.iteration == 1 and first.early is None
    with pytest.raises(ReviewInputError, match="already running"):
        _reserve(store)
    with store.transaction() as db:
        row = db.get(ReviewRound, first.round.id)
        assert row is not None
        cycle.interrupt(db, row, "stopped")
    with store.transaction() as db:
        row = db.get(ReviewRound, first.round.id)
        assert row is not None and row.status == RoundStatus.INTERRUPTED
    second = _reserve(store)
    assert second.round is not None and second.round.iteration == 2
    store.close()


def test_an_approval_covers_its_diff_and_a_changed_diff_starts_a_new_cycle(
    tmp_path: Path,
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    first = _reserve(store)
    with store.transaction() as db:
        session = db.get(ReviewSession, first.session.id)
        row = db.get(ReviewRound, first.round.id if first.round else "")
        assert session is not None and row is not None
        row.status, session.status = RoundStatus.APPROVED, SessionStatus.APPROVED
        session.approved_fingerprint = "diff-1"
        db.add(row)
        db.add(session)
    same = _reserve(store)
    assert same.round is None and same.early is not None  # the approval stands, no round
    changed = _reserve(store, fingerprint="diff-2")
    assert changed.round is not None and changed.session.cycle_start == 1
    store.close()
