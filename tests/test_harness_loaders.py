"""The registrations `brainrouter install` writes, read by the harnesses' own CLIs (installed
from the npm registry by scripts/test into .harness-cli/; skipped, saying why, without them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI_DIR = Path(__file__).resolve().parents[1] / ".harness-cli" / "node_modules" / ".bin"
BRAINROUTER = str(Path(sys.executable).parent / "brainrouter")


def _cli(name: str) -> str:
    path = CLI_DIR / name
    if not path.exists():
        pytest.skip(
            f"{name} CLI not installed in {CLI_DIR} (scripts/test installs it with npm when npm is available)"
        )
    return str(path)


def _install(harness: str) -> None:
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # no `claude` on PATH: the file is written
    subprocess.run(
        [BRAINROUTER, "install", harness, "--yes"],
        check=True,
        env=env,
        timeout=60,
        capture_output=True,
    )


def test_claude_code_lists_and_connects_to_the_server() -> None:
    claude = _cli("claude")
    _install("claude")
    listed = subprocess.run([claude, "mcp", "list"], capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    line = next(line for line in listed.stdout.splitlines() if line.startswith("brainrouter:"))
    assert f"{BRAINROUTER} mcp" in line
    assert "Connected" in line  # Claude Code spawned `brainrouter mcp` and it answered


def test_codex_reads_the_provider_and_server() -> None:
    codex = _cli("codex")
    _install("codex")
    listed = subprocess.run([codex, "mcp", "list"], capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith("brainrouter"))
    assert BRAINROUTER in row and "mcp" in row and "enabled" in row


def test_opencode_lists_and_connects_to_the_server() -> None:
    opencode = _cli("opencode")
    _install("opencode")
    listed = subprocess.run([opencode, "mcp", "list"], capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    out = listed.stdout + listed.stderr
    assert "brainrouter" in out and "connected" in out.lower(), out


def test_gemini_cli_lists_and_connects_to_the_server(tmp_path: Path) -> None:
    gemini = _cli("gemini")
    _install("gemini")
    # Gemini CLI keeps user-level servers off in folders the user has not trusted.
    trusted = Path(os.environ["HOME"]) / ".gemini" / "trustedFolders.json"
    trusted.write_text(f'{{"{tmp_path}": "TRUST_FOLDER"}}')
    listed = subprocess.run(
        [gemini, "mcp", "list"], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert listed.returncode == 0, listed.stderr
    out = listed.stdout + listed.stderr  # it writes the list to stderr
    line = next((line for line in out.splitlines() if "brainrouter:" in line), out)
    assert f"{BRAINROUTER} mcp" in line and "Connected" in line, out


def test_pi_lists_the_brainrouter_models() -> None:
    pi = _cli("pi")
    _install("pi")
    listed = subprocess.run(
        [pi, "--list-models", "brainrouter"], capture_output=True, text=True, timeout=120
    )
    assert listed.returncode == 0, listed.stderr
    out = listed.stdout + listed.stderr
    rows = [line.split()[:2] for line in out.splitlines() if line.startswith("brainrouter ")]
    assert rows == [["brainrouter", "auto"], ["brainrouter", "cloud"], ["brainrouter", "local"]]
