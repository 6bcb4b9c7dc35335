"""Asking the reviewer for one round's verdict: under the round's time limit, with progress
reports while it thinks, and one retry when its answer cannot be read."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from review.request import ProgressFn
from review.reviewer import Reviewer, ReviewerError
from review.settings import ReviewSettings
from review.verdict import UnparseableAnswer, Verdict, parse_verdict

RETRY_HINT = (
    "\n\nYour previous answer could not be read. Answer again with ONLY the JSON object "
    'described above, for example {"status": "needs_revision", "feedback": "...", "findings": []}.'
)


@dataclass
class RoundOutcome:
    reviewer: str | None = None
    model: str | None = None
    verdict: Verdict | None = None
    error: str | None = None
    attempts: int = 0
    llm_ms: int | None = None
    context_ms: int | None = None
    total_ms: int | None = None
    raw_answers: list[str] = field(default_factory=list)


async def ask_reviewer(
    reviewer: Reviewer,
    prompt: str,
    settings: ReviewSettings,
    report: ProgressFn,
    started: float,
    boundary: str | None = None,
) -> RoundOutcome:
    outcome = RoundOutcome(reviewer=reviewer.name, model=reviewer.model)
    limit = settings.round_timeout_s

    async def tick() -> None:
        while True:
            elapsed = time.monotonic() - started
            await report(
                min(elapsed, limit),
                limit,
                f"waiting for the {reviewer.name} reviewer ({reviewer.model}): {elapsed:.0f}s",
            )
            await asyncio.sleep(settings.progress_interval_s)

    llm_started = time.monotonic()
    ticker = asyncio.create_task(tick())
    try:
        async with asyncio.timeout(limit):
            text = prompt
            for attempt in (1, 2):
                outcome.attempts = attempt
                answer = await reviewer.execute(text)
                # where it ran: a cloud reviewer may have fallen back to the local upstream
                outcome.reviewer, outcome.model = reviewer.name, reviewer.model
                outcome.raw_answers.append(answer)
                try:
                    outcome.verdict = parse_verdict(answer, boundary)
                    break
                except UnparseableAnswer as exc:
                    outcome.error = f"unparseable answer after {attempt} attempt(s): {exc}"
                    text = prompt + RETRY_HINT
            if outcome.verdict is not None:
                outcome.error = None
    except TimeoutError:
        outcome.error = f"the review round exceeded its time limit of {limit:.0f}s"
    except ReviewerError as exc:
        outcome.error = str(exc)
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        outcome.llm_ms = int((time.monotonic() - llm_started) * 1000)
    return outcome
