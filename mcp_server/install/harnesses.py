"""Each harness's config files and what brainrouter adds to them (and removes again).

Every harness gets both halves where it supports them: its model provider pointed at the
proxy, and the MCP server registered. Paths come from the environment (HOME, XDG_CONFIG_HOME,
CODEX_HOME...). Edits are functions over the parsed document; files.py does the I/O.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit

from mcp_server.install.files import ConfigFileError, Document, Format
from proxy.harnesses import HARNESS_HEADER

NAME = "brainrouter"
MARK = "# added by brainrouter"


def brainrouter_executable() -> str:
    """How a harness runs brainrouter: this install's script, else the one on PATH."""
    here = Path(sys.executable).parent / "brainrouter"
    return str(here) if here.exists() else (shutil.which("brainrouter") or "brainrouter")


@dataclass
class Context:
    home: Path
    config_home: Path
    executable: str
    proxy_url: str  # http://127.0.0.1:9099
    tool_timeout_s: int
    scope: str = "user"
    cwd: Path = field(default_factory=Path.cwd)
    shell_rc: bool = False

    @classmethod
    def from_env(
        cls, executable: str, proxy_url: str, tool_timeout_s: int, **kwargs: Any
    ) -> Context:
        home = Path(os.environ.get("HOME") or Path.home())
        config_home = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
        return cls(home, config_home, executable, proxy_url, tool_timeout_s, **kwargs)


@dataclass
class Edit:
    path: Path
    fmt: Format
    add: Callable[[Document], Document]
    remove: Callable[[Document], Document | None]


# ---------------------------------------------------------------- document helpers
def _table(fmt: Format) -> Any:
    return tomlkit.table() if fmt == "toml" else {}


def _set(doc: Document, keys: list[str], value: Any, fmt: Format) -> Document:
    node = doc
    for key in keys[:-1]:
        if key not in node or not hasattr(node[key], "keys"):
            node[key] = _table(fmt)
        node = node[key]
    node[keys[-1]] = value
    return doc


def _drop(doc: Document, keys: list[str]) -> Document:
    """Remove doc[k1][k2]...; then any table this left empty."""
    chain = [doc]
    for key in keys[:-1]:
        if key not in chain[-1] or not hasattr(chain[-1][key], "keys"):
            return doc
        chain.append(chain[-1][key])
    chain[-1].pop(keys[-1], None)
    for parent, key in zip(reversed(chain[:-1]), reversed(keys[:-1]), strict=True):
        if parent[key] == {} or len(parent[key]) == 0:
            del parent[key]
        else:
            break
    return doc


def _drop_if(doc: Document, key: str, value: Any) -> Document:
    if doc.get(key) == value:
        del doc[key]
    return doc


def _list_entry(
    doc: Document, key: str, entry: dict[str, Any], match: str, fmt: Format
) -> Document:
    """Add `entry` to the list doc[key] unless an item with the same `match` field is there."""
    items = doc.get(key)
    if items is None:
        items = tomlkit.aot() if fmt == "toml" else []
        doc[key] = items
    if not isinstance(items, list) or not all(hasattr(i, "get") for i in items):
        raise ConfigFileError(f"'{key}' is not a list of tables here; the file was left untouched")
    for index, item in enumerate(items):
        if item.get(match) == entry[match]:
            if dict(item) != entry:
                items[index] = tomlkit.item(entry) if fmt == "toml" else entry
            return doc
    items.append(tomlkit.item(entry) if fmt == "toml" else entry)
    return doc


def _drop_list_entry(doc: Document, key: str, match: str, value: str) -> Document:
    items = doc.get(key)
    if items is not None:
        keep = [item for item in items if item.get(match) != value]
        if keep:
            items.clear()
            items.extend(keep)
        else:
            del doc[key]
    return doc


def _edit(path: Path, fmt: Format, sets: list[tuple[list[str], Any]]) -> Edit:
    def add(doc: Document) -> Document:
        for keys, value in sets:
            _set(doc, keys, value, fmt)
        return doc

    def remove(doc: Document) -> Document:
        for keys, _ in sets:
            _drop(doc, keys)
        return doc

    return Edit(path, fmt, add, remove)


def _mcp_stdio(ctx: Context, **extra: Any) -> dict[str, Any]:
    return {"command": ctx.executable, "args": ["mcp"], **extra}


# ---------------------------------------------------------------- the harnesses
def claude(ctx: Context) -> list[Edit]:
    path = ctx.cwd / ".mcp.json" if ctx.scope == "project" else ctx.home / ".claude.json"
    edits = [_edit(path, "json", [(["mcpServers", NAME], _mcp_stdio(ctx, type="stdio", env={}))])]
    if ctx.shell_rc:
        shell = Path(os.environ.get("SHELL", "bash")).name
        rc = ctx.home / (".zshrc" if shell == "zsh" else ".bashrc")
        line = f"export ANTHROPIC_BASE_URL={ctx.proxy_url}  {MARK}"

        def add(doc: Document) -> Document:
            text = doc.get("text", "")
            if line not in text.splitlines():
                text = text + ("" if not text or text.endswith("\n") else "\n") + line + "\n"
            return {"text": text}

        def remove(doc: Document) -> Document:
            return {
                "text": "".join(
                    kept
                    for kept in doc.get("text", "").splitlines(keepends=True)
                    if kept.rstrip("\n") != line
                )
            }

        edits.append(Edit(rc, "text", add, remove))
    return edits


def codex(ctx: Context) -> list[Edit]:
    path = Path(os.environ.get("CODEX_HOME") or ctx.home / ".codex") / "config.toml"
    provider = {"name": "Brainrouter", "base_url": f"{ctx.proxy_url}/v1", "wire_api": "responses"}
    # Codex waits for approval of MCP tool calls in non-interactive runs. Only request_review
    # is pre-approved: resolve_session (a human's verdict) must never run unasked.
    server = {
        **_mcp_stdio(ctx),
        "tool_timeout_sec": ctx.tool_timeout_s,
        # Codex gives a server 10 s to start by default; ours may first start the daemon.
        "startup_timeout_sec": 30,
        "required": True,
        "tools": {"request_review": {"approval_mode": "approve"}},
    }

    def add(doc: Document) -> Document:
        doc["model_provider"] = NAME
        doc["model"] = "auto"
        _set(doc, ["model_providers", NAME], tomlkit.item(provider), "toml")
        _set(doc, ["mcp_servers", NAME], tomlkit.item(server), "toml")
        return doc

    def remove(doc: Document) -> Document:
        _drop_if(doc, "model_provider", NAME)
        _drop_if(doc, "model", "auto")
        _drop(doc, ["model_providers", NAME])
        return _drop(doc, ["mcp_servers", NAME])

    return [Edit(path, "toml", add, remove)]


def opencode(ctx: Context) -> list[Edit]:
    folder = ctx.config_home / "opencode"
    names = ("opencode.jsonc", "opencode.json", "config.json")
    path = next((folder / n for n in names if (folder / n).exists()), folder / "opencode.json")
    provider = {
        "npm": "@ai-sdk/openai-compatible",
        "name": "Brainrouter",
        "options": {"baseURL": f"{ctx.proxy_url}/v1"},
        "models": {m: {"name": f"Brainrouter ({m})"} for m in ("auto", "local", "cloud")},
    }
    server = {"type": "local", "command": [ctx.executable, "mcp"], "enabled": True}
    edit = _edit(path, "jsonc", [(["provider", NAME], provider), (["mcp", NAME], server)])
    default = f"{NAME}/auto"  # what every harness gets: auto, as Codex and Claude Code do

    def add(doc: Document) -> Document:
        doc = edit.add(doc)
        if "model" not in doc:
            # With no model chosen, opencode picked the first of ours it listed (local).
            doc["model"] = default
        return doc

    def remove(doc: Document) -> Document:
        if doc.get("model") == default:
            del doc["model"]
        return edit.remove(doc)

    return [Edit(path, "jsonc", add, remove)]


def gemini(ctx: Context) -> list[Edit]:
    # Gemini CLI talks to Google's API only; brainrouter registers its MCP server there.
    path = ctx.home / ".gemini" / "settings.json"
    server = _mcp_stdio(ctx, timeout=ctx.tool_timeout_s * 1000)
    return [_edit(path, "json", [(["mcpServers", NAME], server)])]


def droid(ctx: Context) -> list[Edit]:
    folder = ctx.home / ".factory"
    model = {
        "model_display_name": "Brainrouter (auto)",
        "model": "brainrouter/auto",
        "base_url": ctx.proxy_url,
        "api_key": "not-used",
        "provider": "anthropic",  # droid's openai mode posts to /responses; anthropic mode is /v1/messages
    }

    def add(doc: Document) -> Document:
        return _list_entry(doc, "custom_models", model, "model", "json")

    def remove(doc: Document) -> Document:
        return _drop_list_entry(doc, "custom_models", "model", model["model"])

    mcp = _edit(
        folder / "mcp.json", "json", [(["mcpServers", NAME], _mcp_stdio(ctx, type="stdio"))]
    )
    return [Edit(folder / "config.json", "json", add, remove), mcp]


def omp(ctx: Context) -> list[Edit]:
    folder = ctx.home / ".omp" / "agent"
    provider = {
        "baseUrl": f"{ctx.proxy_url}/v1",
        "api": "openai-completions",
        "auth": "none",
        "models": [{"id": m, "name": f"Brainrouter ({m})"} for m in ("auto", "local", "cloud")],
    }
    server = _mcp_stdio(ctx, type="stdio", timeout=ctx.tool_timeout_s * 1000)
    return [
        _edit(folder / "models.yml", "yaml", [(["providers", NAME], provider)]),
        _edit(folder / "mcp.json", "json", [(["mcpServers", NAME], server)]),
    ]


def vibe(ctx: Context) -> list[Edit]:
    path = ctx.home / ".vibe" / "config.toml"
    provider = {
        "name": NAME,
        "api_base": f"{ctx.proxy_url}/v1",
        "api_style": "openai",
        "backend": "generic",
        # vibe's client names itself python-httpx: the routing events would not know it
        "extra_headers": {HARNESS_HEADER: "vibe"},
    }
    model = {"name": "brainrouter-auto", "provider": NAME, "alias": "brainrouter-auto"}
    # vibe refuses a server entry without its transport ("Invalid request parameters" on
    # every run), and its 60 s default tool timeout is shorter than a review round.
    server = {
        "name": NAME,
        "transport": "stdio",
        "command": ctx.executable,
        "args": ["mcp"],
        "tool_timeout_sec": ctx.tool_timeout_s,
    }

    def add(doc: Document) -> Document:
        _list_entry(doc, "providers", provider, "name", "toml")
        _list_entry(doc, "models", model, "name", "toml")
        if "active_model" not in doc:
            # With no model chosen, vibe runs on Mistral's API and asks for its key; a
            # model the user chose stays chosen.
            doc["active_model"] = model["alias"]
        return _list_entry(doc, "mcp_servers", server, "name", "toml")

    def remove(doc: Document) -> Document:
        _drop_list_entry(doc, "providers", "name", NAME)
        _drop_list_entry(doc, "models", "name", "brainrouter-auto")
        if doc.get("active_model") == model["alias"]:
            del doc["active_model"]
        return _drop_list_entry(doc, "mcp_servers", "name", NAME)

    return [Edit(path, "toml", add, remove)]


def pi(ctx: Context) -> list[Edit]:
    # pi has no MCP support: its model provider only.
    path = ctx.home / ".pi" / "agent" / "models.json"
    provider = {
        "baseUrl": f"{ctx.proxy_url}/v1",
        "api": "openai-completions",
        "apiKey": "not-used",
        # pi's client names itself after OpenAI's SDK: the routing events would not know it
        "headers": {HARNESS_HEADER: "pi"},
        "models": [{"id": m, "name": f"Brainrouter ({m})"} for m in ("auto", "local", "cloud")],
    }
    return [_edit(path, "json", [(["providers", NAME], provider)])]


EDITS: dict[str, Callable[[Context], list[Edit]]] = {
    "claude": claude,
    "codex": codex,
    "opencode": opencode,
    "omp": omp,
    "vibe": vibe,
    "droid": droid,
    "pi": pi,
    "gemini": gemini,
}
