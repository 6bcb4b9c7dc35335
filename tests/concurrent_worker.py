"""Run by test_store.py in two processes at once: N review rounds against one database file."""

import asyncio
import sys

from mcp_server.config import Settings
from mcp_server.wiring import ReviewRuntime
from review.request import ReviewRequest
from review.settings import ReviewSettings
from review.status import VerdictSource


async def main(db_url: str, llm_url: str, cwd: str, prefix: str, rounds: int) -> None:
    review = ReviewSettings.model_validate({"mode": "local", "local": {"base_url": llm_url}})
    settings = Settings(database_url=db_url, review=review)
    runtime = ReviewRuntime(settings)
    try:
        service = await runtime.service()
        for i in range(rounds):
            result = await service.request_review(
                ReviewRequest(task_id=f"{prefix}-{i}", summary="work", cwd=cwd)
            )
            assert result.status == "approved", result
            await service.resolve(f"{prefix}-{i}", "lgtm", VerdictSource.CLI)
            service.config.set("local" if i % 2 else "auto")
    finally:
        await runtime.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))


def run_two_writers(url: str, llm_url: str, cwd: str, rounds: int) -> list[str]:
    """Start two worker processes against one database at once; the stderr of any that failed."""
    import subprocess
    from pathlib import Path

    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.concurrent_worker",
                url,
                llm_url,
                cwd,
                prefix,
                str(rounds),
            ],
            cwd=Path(__file__).parent.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for prefix in ("a", "b")
    ]
    failures = []
    for worker in workers:
        _out, err = worker.communicate(timeout=120)
        if worker.returncode != 0:
            failures.append(err.decode()[-2000:])
    return failures
