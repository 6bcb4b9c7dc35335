"""The daemon's process settings: what exists at start leaves the collector's sight, and the
young generation is large enough that requests finish between collections."""

from __future__ import annotations

import gc

from mcp_server.process import GC_THRESHOLDS, tune_gc


def test_tune_gc_freezes_what_exists_and_raises_the_young_threshold() -> None:
    before = gc.get_threshold()
    made_at_start = [object() for _ in range(3)]  # stands for the app built before serving
    try:
        tune_gc()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert GC_THRESHOLDS[0] >= 10_000
        assert gc.get_freeze_count() > 0
        # the next full collection does not walk what was frozen
        assert not any(obj is made_at_start for obj in gc.get_objects())
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
