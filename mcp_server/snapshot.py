"""What `brainrouter mcp` answers before its full server is up (mcp_server/stdio_front.py):
the real server's `initialize` result and tool list, and the protocol versions it negotiates.

    .venv/bin/python -m mcp_server.snapshot     # rewrite mcp_server/mcp_snapshot.json

tests/test_stdio_front.py fails when the file no longer matches the server.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from mcp_server.stdio_front import SNAPSHOT


async def live() -> dict[str, Any]:
    from fastmcp import Client
    from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION

    from mcp_server.tools import build_mcp

    async def no_service() -> Any:
        raise RuntimeError("the snapshot never calls a tool")

    # the initialize handshake, as harnesses connect (not the 2026 server/discover era)
    async with Client(build_mcp(no_service), mode="legacy") as client:
        init = client.initialize_result
        assert init is not None
        tools = await client.list_tools_mcp()
    dumped = init.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {
        "handshake_versions": list(HANDSHAKE_PROTOCOL_VERSIONS),
        "latest_handshake": LATEST_HANDSHAKE_VERSION,
        "initialize": {k: v for k, v in dumped.items() if k != "protocolVersion"},
        "tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools.tools],
    }


def main() -> None:
    SNAPSHOT.write_text(json.dumps(asyncio.run(live()), indent=1, sort_keys=True) + "\n")
    print(f"wrote {SNAPSHOT}")


if __name__ == "__main__":
    main()
