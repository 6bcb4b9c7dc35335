"""`brainrouter install <harness>`: point a harness at the proxy and register the MCP server in
its own config files, safely (merge, backup, atomic write, refuse what cannot be parsed)."""

HARNESSES = ("claude", "codex", "opencode", "omp", "vibe", "droid", "pi", "gemini")
