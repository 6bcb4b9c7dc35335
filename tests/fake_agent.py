"""A stand-in for `claude -p --output-format json` in the bridge tests: reads the task from
stdin and answers with what it was given (model, folder, resumed conversation, how it was
pointed at brainrouter). Tasks `sleep <s>`, `fail`, `long <n>` and `code` act as named."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid


def main() -> int:
    argv = sys.argv[1:]
    task = sys.stdin.read()

    def flag(name: str) -> str | None:
        return argv[argv.index(name) + 1] if name in argv else None

    if os.environ.get("FAKE_AGENT_LOG"):
        with open(os.environ["FAKE_AGENT_LOG"], "a") as log:
            record = {"argv": argv, "task": task, "cwd": os.getcwd()}
            record["base_url"] = os.environ.get("ANTHROPIC_BASE_URL")
            record["secrets"] = sorted(k for k in os.environ if "KEY" in k or "TOKEN" in k)
            log.write(json.dumps(record) + "\n")
    if task.startswith("sleep "):
        time.sleep(float(task.split()[1]))
    if task == "review":  # as an agent does at the end of its work: ask brainrouter's review
        import httpx

        body = {"taskId": "bridge-task", "summary": "Added divide().", "cwd": os.getcwd()}
        url = f"{os.environ['ANTHROPIC_BASE_URL']}/review/api/request"
        done = httpx.post(url, json=body, timeout=60).json()
        print(
            json.dumps({"type": "result", "result": f"asked: {done['status']}", "session_id": "r"})
        )
        return 0
    if task == "fail":
        print("the model is unreachable", file=sys.stderr)
        return 1
    if task.startswith("long "):
        result = "\n".join(f"line {i} " + "x" * 60 for i in range(int(task.split()[1])))
    elif task == "code":
        result = (
            "Here:\n```python\n" + "\n".join(f"print({i})" for i in range(300)) + "\n```\nDone."
        )
    else:
        resumed = flag("--resume")
        result = f"did: {task} | model={flag('--model')} | cwd={os.getcwd()} | resumed={resumed}"
    session = flag("--resume") or str(uuid.uuid4())
    print(
        json.dumps({"type": "result", "is_error": False, "result": result, "session_id": session})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
