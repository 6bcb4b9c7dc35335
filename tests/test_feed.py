from datetime import UTC, datetime, timedelta

from mcp_server.feed import collapse_events, table

T0 = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


def _event(seconds_ago: float, prompt: str = "fix the bug", **extra: object) -> dict[str, object]:
    return {
        "created_at": (T0 - timedelta(seconds=seconds_ago)).isoformat(),
        "harness": "claude-code",
        "requested_model": "auto",
        "upstream": "local",
        "model": "m",
        "status": "ok",
        "prompt_excerpt": prompt,
        "project_dir": "/p",
        "total_ms": 100.0,
        "fallback": False,
        **extra,
    }


def test_identical_requests_within_30_seconds_collapse() -> None:
    rows = collapse_events(  # newest first, as the store returns them
        [_event(0), _event(5, prompt="other"), _event(10), _event(25, fallback=True), _event(45)]
    )
    assert [(r["prompt_excerpt"], r["count"]) for r in rows] == [
        ("fix the bug", 3),
        ("other", 1),
        ("fix the bug", 1),
    ]
    assert rows[0]["total_ms"] == 300.0 and rows[0]["fallback"] is True


def test_review_sessions_are_one_row_each_and_everything_is_ordered() -> None:
    sessions = [
        {
            "updated_at": (T0 - timedelta(seconds=3)).isoformat(),
            "task_id": "t1",
            "iteration": 4,
            "status": "needs_revision",
            "reviewer": "local",
            "project_dir": "/p",
            "review_url": "u",
        }
    ]
    rows = table([_event(0), _event(60, prompt="older")], sessions)
    assert [r["kind"] for r in rows] == ["request", "review", "request"]
    assert rows[1]["iteration"] == 4 and rows[1]["url"] == "u"
