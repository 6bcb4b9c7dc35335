"""Which harness sent a request: from what its client says of itself (user agent, Claude
Code's x-app), or from the header `brainrouter install` adds where the client names only its
HTTP library."""

from __future__ import annotations

# Harnesses whose HTTP client names only itself (vibe: python-httpx, pi: OpenAI's JS SDK) are
# told by `brainrouter install` to say who they are in this header.
HARNESS_HEADER = "x-brainrouter-harness"
_KNOWN_HARNESSES = frozenset(
    {"claude-code", "codex", "opencode", "droid", "vibe", "gemini", "omp", "pi"}
)


def harness_of(user_agent: str, headers: dict[str, str]) -> str:
    told = headers.get(HARNESS_HEADER, "").strip().lower()
    if told in _KNOWN_HARNESSES:
        return told
    ua = user_agent.lower()
    if headers.get("x-app") == "cli" or "claude-cli" in ua or "claude-code" in ua:
        return "claude-code"
    for name in ("codex", "opencode", "droid", "vibe", "gemini", "omp", "pi"):
        if name in ua:
            return name
    if "openai/python" in ua or "anthropic/python" in ua:
        return "sdk"
    return ua.split("/")[0][:32] or "unknown"
