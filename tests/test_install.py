"""`brainrouter install/uninstall <harness>` in a temporary HOME, for every harness."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from mcp_server.install import HARNESSES
from mcp_server.install.files import ConfigFileError
from mcp_server.install.harnesses import EDITS, Context
from mcp_server.install.run import install, uninstall

EXE = "/opt/brainrouter/bin/brainrouter"
BRAINROUTER = str(Path(sys.executable).parent / "brainrouter")


def _ctx(**kwargs: Any) -> Context:
    return Context.from_env(EXE, "http://127.0.0.1:9099", 660, **kwargs)


def _files(harness: str, ctx: Context) -> list[Path]:
    return [e.path for e in EDITS[harness](ctx)]


def _load(path: Path) -> Any:
    text = path.read_text()
    if path.suffix == ".toml":
        return tomllib.loads(text)
    if path.suffix in (".yml", ".yaml"):
        return yaml.safe_load(text)
    if path.suffix in (".json", ".jsonc"):
        import json5

        return json5.loads(text)
    return text


def _quiet() -> dict[str, Any]:
    return {"echo": lambda _m: None, "confirm": lambda _m: True}


# Unrelated settings a user already has, in each file's own format.
EXISTING = {
    ".json": '{\n  "theme": "dark",\n  "mcpServers": {"other": {"command": "other-tool"}}\n}\n',
    ".jsonc": '{\n  // my settings\n  "theme": "dark"\n}\n',
    ".toml": '# my codex settings\nmodel_reasoning_effort = "high"  # keep me\n\n[mcp_servers.other]\ncommand = "other-tool"\n',
    ".yml": "# my models\nproviders:\n  other:\n    baseUrl: http://elsewhere/v1\n",
}
VIBE_EXISTING = '# my vibe\nactive_model = "devstral"  # keep me\n\n[[providers]]\nname = "mistral"\napi_base = "https://api.mistral.ai/v1"\n'
BROKEN = {
    ".json": '{"theme": ',
    ".jsonc": "{ // open",
    ".toml": "model = [unclosed",
    ".yml": "providers: [a, b",
}


@pytest.mark.parametrize("harness", HARNESSES)
def test_fresh_install_then_a_second_is_a_no_op(harness: str) -> None:
    ctx = _ctx()
    report = install(harness, ctx, yes=True, dry_run=False, **_quiet())
    assert report.changed
    contents = {p: p.read_bytes() for p in _files(harness, ctx)}
    for path in contents:
        assert "brainrouter" in path.read_text()
        _load(path)  # parsed back by a real parser of the format
    again = install(harness, ctx, yes=True, dry_run=False, **_quiet())
    assert again.nothing_to_do
    assert {p: p.read_bytes() for p in contents} == contents


def test_what_each_harness_gets() -> None:
    ctx = _ctx()
    for harness in HARNESSES:
        install(harness, ctx, yes=True, dry_run=False, **_quiet())
    home = ctx.home
    claude = json.loads((home / ".claude.json").read_text())
    assert claude["mcpServers"]["brainrouter"] == {
        "command": EXE,
        "args": ["mcp"],
        "type": "stdio",
        "env": {},
    }
    codex = tomllib.loads((home / ".codex" / "config.toml").read_text())
    assert codex["model_provider"] == "brainrouter"
    assert codex["model_providers"]["brainrouter"]["wire_api"] == "responses"
    assert codex["model_providers"]["brainrouter"]["base_url"] == "http://127.0.0.1:9099/v1"
    server = codex["mcp_servers"]["brainrouter"]
    assert server["tool_timeout_sec"] == 660 and server["required"] is True
    assert server["tools"] == {"request_review": {"approval_mode": "approve"}}
    assert (
        "default_tools_approval_mode" not in server
    )  # not every tool: resolve_session stays gated
    opencode = json.loads((ctx.config_home / "opencode" / "opencode.json").read_text())
    assert opencode["provider"]["brainrouter"]["npm"] == "@ai-sdk/openai-compatible"
    assert opencode["model"] == "brainrouter/auto"  # the same default as every harness
    assert opencode["mcp"]["brainrouter"] == {
        "type": "local",
        "command": [EXE, "mcp"],
        "enabled": True,
    }
    droid = json.loads((home / ".factory" / "config.json").read_text())
    assert droid["custom_models"][0]["provider"] == "anthropic"
    assert json.loads((home / ".factory" / "mcp.json").read_text())["mcpServers"]["brainrouter"][
        "args"
    ] == ["mcp"]
    omp = yaml.safe_load((home / ".omp" / "agent" / "models.yml").read_text())
    assert omp["providers"]["brainrouter"]["api"] == "openai-completions"
    vibe = tomllib.loads((home / ".vibe" / "config.toml").read_text())
    assert (
        vibe["providers"][0]["name"] == "brainrouter" and vibe["mcp_servers"][0]["command"] == EXE
    )
    # what vibe 3's own schema (vibe/core/config/models.py) requires or defaults too low
    assert vibe["mcp_servers"][0]["transport"] == "stdio"
    assert vibe["mcp_servers"][0]["tool_timeout_sec"] == ctx.tool_timeout_s > 600
    assert vibe["active_model"] == vibe["models"][0]["alias"]  # not Mistral's API by default
    assert vibe["providers"][0]["extra_headers"] == {"x-brainrouter-harness": "vibe"}
    assert (
        json.loads((home / ".gemini" / "settings.json").read_text())["mcpServers"]["brainrouter"][
            "timeout"
        ]
        == 660_000
    )
    pi = json.loads((home / ".pi" / "agent" / "models.json").read_text())["providers"]
    assert pi["brainrouter"]["headers"] == {"x-brainrouter-harness": "pi"}


@pytest.mark.parametrize("harness", HARNESSES)
def test_existing_settings_survive_and_uninstall_restores_the_bytes(harness: str) -> None:
    ctx = _ctx()
    originals: dict[Path, bytes] = {}
    for path in _files(harness, ctx):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(VIBE_EXISTING if harness == "vibe" else EXISTING[path.suffix])
        originals[path] = path.read_bytes()
    install(harness, ctx, yes=True, dry_run=False, **_quiet())
    for path in originals:
        text = path.read_text()
        assert "brainrouter" in text
        if path.suffix == ".toml":
            assert "# keep me" in text  # comments survive a TOML edit
            data = tomllib.loads(text)
            assert (
                data.get("model_reasoning_effort") == "high"
                or data.get("active_model") == "devstral"
            )
        elif path.suffix == ".jsonc":
            assert text.startswith('{\n  // my settings\n  "theme": "dark",\n')  # comment kept
        elif path.suffix == ".json":
            assert json.loads(text)["theme"] == "dark"
            assert json.loads(text)["mcpServers"]["other"] == {"command": "other-tool"}
        assert list(path.parent.glob(f"{path.name}.bak-*")), "a backup was made"
    uninstall(harness, ctx, yes=True, dry_run=False, **_quiet())
    assert {p: p.read_bytes() for p in originals} == originals


@pytest.mark.parametrize("harness", HARNESSES)
def test_a_broken_file_is_refused_and_left_unchanged(harness: str) -> None:
    ctx = _ctx()
    files = _files(harness, ctx)
    broken = files[0]
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text(BROKEN[broken.suffix])
    with pytest.raises(ConfigFileError, match="left untouched"):
        install(harness, ctx, yes=True, dry_run=False, **_quiet())
    assert broken.read_text() == BROKEN[broken.suffix]
    assert not any(p.exists() for p in files[1:])  # nothing else was written either


def test_uninstall_after_user_edits_removes_only_our_entries() -> None:
    ctx = _ctx()
    install("codex", ctx, yes=True, dry_run=False, **_quiet())
    path = ctx.home / ".codex" / "config.toml"
    path.write_text(path.read_text() + '\n[profiles.fast]\nmodel = "small"\n')
    uninstall("codex", ctx, yes=True, dry_run=False, **_quiet())
    left = tomllib.loads(path.read_text())
    assert left == {"profiles": {"fast": {"model": "small"}}}


def test_opencode_jsonc_comments_survive_install_and_an_edited_uninstall() -> None:
    ctx = _ctx()
    path = ctx.config_home / "opencode" / "opencode.jsonc"
    path.parent.mkdir(parents=True)
    path.write_text(
        '{\n  // my settings\n  "theme": "dark", // the best\n'
        '  "mcp": {\n    /* a server of mine */\n    "other": {"type": "local"},\n  },\n}\n'
    )
    install("opencode", ctx, yes=True, dry_run=False, **_quiet())
    text = path.read_text()
    for kept in ("// my settings", '"dark", // the best', "/* a server of mine */"):
        assert kept in text
    assert '"other": {"type": "local"},\n    "brainrouter": {' in text  # theirs untouched
    # The user edits the file after install: uninstall removes our keys and keeps theirs.
    path.write_text(text.replace('"theme": "dark"', '"theme": "light"'))
    uninstall("opencode", ctx, yes=True, dry_run=False, **_quiet())
    assert path.read_text() == (
        '{\n  // my settings\n  "theme": "light", // the best\n'
        '  "mcp": {\n    /* a server of mine */\n    "other": {"type": "local"},\n  },\n}\n'
    )


def test_uninstall_removes_files_install_created() -> None:
    ctx = _ctx()
    install("gemini", ctx, yes=True, dry_run=False, **_quiet())
    said: list[str] = []
    uninstall("gemini", ctx, yes=True, dry_run=False, echo=said.append, confirm=lambda _m: True)
    settings = ctx.home / ".gemini" / "settings.json"
    assert not settings.exists()
    assert any(m.startswith(f"removed {settings}") for m in said)
    assert not any(m.startswith("wrote") for m in said)


def test_claude_shell_rc_and_project_scope(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELL", "/bin/zsh")
    ctx = _ctx(shell_rc=True, scope="project", cwd=tmp_path)
    rc = ctx.home / ".zshrc"
    rc.write_text("alias ll='ls -l'\n")
    install("claude", ctx, yes=True, dry_run=False, **_quiet())
    install("claude", ctx, yes=True, dry_run=False, **_quiet())
    assert rc.read_text().count("ANTHROPIC_BASE_URL=http://127.0.0.1:9099") == 1
    assert (
        json.loads((tmp_path / ".mcp.json").read_text())["mcpServers"]["brainrouter"]["command"]
        == EXE
    )
    uninstall("claude", ctx, yes=True, dry_run=False, **_quiet())
    assert rc.read_text() == "alias ll='ls -l'\n"


def test_cli_shows_the_diff_asks_and_honours_dry_run() -> None:
    env = {**os.environ}
    dry = subprocess.run(
        [BRAINROUTER, "install", "gemini", "--dry-run"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert dry.returncode == 0 and '"brainrouter"' in dry.stdout and "nothing written" in dry.stdout
    settings = Path(env["HOME"]) / ".gemini" / "settings.json"
    assert not settings.exists()
    declined = subprocess.run(
        [BRAINROUTER, "install", "gemini"],
        input="n\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert "Apply these changes" in declined.stdout and not settings.exists()
    accepted = subprocess.run(
        [BRAINROUTER, "install", "gemini"],
        input="y\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert accepted.returncode == 0 and settings.exists()
    unknown = subprocess.run(
        [BRAINROUTER, "install", "emacs"], capture_output=True, text=True, env=env, timeout=60
    )
    assert unknown.returncode == 2 and "unknown harness" in unknown.stderr
    settings.write_text("{broken")
    refused = subprocess.run(
        [BRAINROUTER, "uninstall", "gemini", "--yes"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert (
        refused.returncode == 1
        and "left untouched" in refused.stderr
        and settings.read_text() == "{broken"
    )


def test_service_unit_and_doctor(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # no systemctl calls wanted: --no-start
    made = subprocess.run(
        [BRAINROUTER, "service", "install", "--no-start"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    unit = Path(env["XDG_CONFIG_HOME"]) / "systemd" / "user" / "brainrouter.service"
    assert "ExecStart=" in unit.read_text() and " serve" in unit.read_text()
    assert "LimitNOFILE=65536" in unit.read_text()
    assert "enable-linger" in made.stdout
    subprocess.run(
        [BRAINROUTER, "service", "uninstall", "--no-start"], check=True, env=env, timeout=60
    )
    assert not unit.exists()
    doctor = subprocess.run(
        [BRAINROUTER, "doctor"], capture_output=True, text=True, env=os.environ, timeout=120
    )
    assert "configuration is valid" in doctor.stdout
    assert "no daemon at" in doctor.stdout and "brainrouter serve" in doctor.stdout
    assert "GPU offload: " in doctor.stdout  # says whether this build can use a GPU
    assert doctor.returncode == 1


@pytest.fixture
def fake_claude_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `claude` on PATH that records each call and knows no MCP server yet."""
    calls = tmp_path / "claude-calls.txt"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "claude"
    script.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n[ "$2" = "get" ] && exit 1\nexit 0\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return calls


def test_claude_cli_runs_only_after_the_user_said_yes(fake_claude_cli: Path) -> None:
    shown: list[str] = []
    declined = install(
        "claude",
        _ctx(),
        yes=False,
        dry_run=False,
        echo=shown.append,
        confirm=lambda _m: False,
    )
    assert declined.cancelled
    assert any(m.startswith("will run: ") and "mcp add-json" in m for m in shown)
    assert "add-json" not in fake_claude_cli.read_text()  # only `mcp get` ran
    install("claude", _ctx(), yes=False, dry_run=True, echo=shown.append, confirm=lambda _m: True)
    assert "add-json" not in fake_claude_cli.read_text()
    install("claude", _ctx(), yes=False, dry_run=False, **_quiet())
    assert "mcp add-json -s user brainrouter" in fake_claude_cli.read_text()


def test_backups_and_the_ledger_keep_the_originals_private() -> None:
    ctx = _ctx()
    path = _files("codex", ctx)[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('# has a token\nmodel = "x"\n')
    path.chmod(0o600)
    report = install("codex", ctx, yes=True, dry_run=False, **_quiet())
    assert report.backups
    for backup in report.backups:
        assert Path(backup).stat().st_mode & 0o777 == 0o600
    assert path.stat().st_mode & 0o777 == 0o600
    from mcp_server.install.files import Ledger

    assert Ledger().path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("harness", HARNESSES)
def test_no_harness_pre_approves_resolve_session(harness: str) -> None:
    ctx = _ctx()
    install(harness, ctx, yes=True, dry_run=False, **_quiet())
    for path in _files(harness, ctx):
        if path.exists():
            text = path.read_text()
            # No per-tool approval of resolve_session, and no server-wide "approve everything".
            for word in ("resolve_session", '"trust"', "autoApprove", "alwaysAllow", "yolo"):
                assert word not in text, (path, word)


def test_install_offers_the_service(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # no systemctl calls
    told = subprocess.run(
        [BRAINROUTER, "install", "gemini", "--yes"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert told.returncode == 0 and "brainrouter service install" in told.stdout
    unit = Path(env["XDG_CONFIG_HOME"]) / "systemd" / "user" / "brainrouter.service"
    assert not unit.exists()  # --yes says yes to the files, not to a service


def test_saying_yes_to_the_offer_writes_the_unit(monkeypatch: pytest.MonkeyPatch) -> None:
    from mcp_server import cli_setup

    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no systemctl calls
    monkeypatch.setattr(cli_setup.sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(cli_setup.typer, "confirm", lambda *_a, **_k: True)
    cli_setup._offer_service(False, None)
    unit = Path(os.environ["XDG_CONFIG_HOME"]) / "systemd" / "user" / "brainrouter.service"
    assert " serve" in unit.read_text()
