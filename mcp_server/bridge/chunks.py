"""A long answer cut into messages a chat platform accepts (Discord 2,000 characters, Signal
about 4,000): at paragraph or line ends where it can, never inside a fenced code block when a
block fits in one message; a block that does not fit is closed at the cut and reopened in the
next message, so each message renders on its own."""

from __future__ import annotations

FENCE = "```"


def _blocks(text: str) -> list[str]:
    """Paragraph-ish pieces: each fenced code block whole, the rest line by line."""
    pieces: list[str] = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.lstrip().startswith(FENCE):
            end = index + 1
            while end < len(lines) and not lines[end].lstrip().startswith(FENCE):
                end += 1
            pieces.append("\n".join(lines[index : end + 1]))
            index = end + 1
        else:
            pieces.append(line)
            index += 1
    return pieces


def _split_block(block: str, limit: int) -> list[str]:
    """A piece longer than a message: a code block is cut at line ends and re-fenced; plain
    text at the last space (a word longer than a message, anywhere)."""
    if block.lstrip().startswith(FENCE):
        opening, _, body = block.partition("\n")
        closing = FENCE
        inner = body.removesuffix(FENCE).rstrip("\n")
        room = limit - len(opening) - len(closing) - 2
        out = []
        for part in _split_plain(inner, max(room, 1), at="\n"):
            out.append(f"{opening}\n{part}\n{closing}")
        return out
    return _split_plain(block, limit, at=" ")


def _split_plain(text: str, limit: int, at: str) -> list[str]:
    out = []
    while len(text) > limit:
        cut = text.rfind(at, 0, limit + 1)
        if cut <= 0:
            cut = limit
        out.append(text[:cut])
        text = text[cut:].lstrip(at) if cut < len(text) else ""
    if text:
        out.append(text)
    return out


def chunk(text: str, limit: int) -> list[str]:
    if limit < 20:
        raise ValueError("a message limit under 20 characters cannot hold a fenced block")
    text = text.strip("\n")
    if not text:
        return []
    messages: list[str] = []
    current = ""
    for piece in _blocks(text):
        for part in _split_block(piece, limit) if len(piece) > limit else [piece]:
            joined = f"{current}\n{part}" if current else part
            if len(joined) <= limit:
                current = joined
            else:
                if current.strip():
                    messages.append(current)
                current = part
    if current.strip():
        messages.append(current)
    return messages
