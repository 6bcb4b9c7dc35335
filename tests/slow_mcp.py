"""A stdio MCP server that takes a few seconds to answer `initialize`: while it connects,
Claude Code offers its model the WaitForMcpServers tool (see tests/test_harness_e2e.py)."""

from __future__ import annotations

import json
import sys
import time

time.sleep(3)
for line in sys.stdin:
    message = json.loads(line)
    if "id" not in message:
        continue
    if message.get("method") == "initialize":
        result = {
            "protocolVersion": message["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "slow", "version": "1"},
        }
    elif message.get("method") == "tools/list":
        result = {"tools": []}
    else:
        result = {}
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}) + "\n")
    sys.stdout.flush()
