"""brainrouter's entry points: the CLI, the MCP server and the daemon that wires review and proxy."""
