from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import git
import pytest

from mcp_server.config import Settings
from mcp_server.wiring import ReviewRuntime
from review.loop import ReviewService
from review.settings import ReviewSettings
from tests.fake_llm import FakeLLM

pytest_plugins = ["tests.proxy_fixtures", "tests.browser_fixtures", "tests.bridge_fixtures"]


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the whole run: the embedded model file is assembled once, not per test."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, shared_cache: Path
) -> Iterator[None]:
    """No test reads the developer's own config or database. A harness CLI that spawns
    `brainrouter mcp` (`claude mcp list`) starts a daemon: it must not outlive its test."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CACHE_HOME", str(shared_cache))
    for key in list(os.environ):
        if key.startswith("BRAINROUTER_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local/state"))
    _TEST_HOMES.add(str(home))
    yield
    _stop_daemons_of(str(home))


_TEST_HOMES: set[str] = set()


def _stop_daemons_of(home: str) -> None:
    """Daemons a test started in the background (autostart): every `brainrouter serve`
    process whose environment has the test's HOME (one still starting up included)."""
    import signal

    needle = f"HOME={home}".encode()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if b"serve" not in (proc / "cmdline").read_bytes():
                continue
            if needle in (proc / "environ").read_bytes().split(b"\0"):
                os.kill(int(proc.name), signal.SIGTERM)
        except (OSError, ValueError):
            continue


@pytest.fixture(scope="session", autouse=True)
def _no_daemon_left_behind() -> Iterator[None]:
    # again at the end: an MCP server a harness CLI left behind may start one after its test
    yield
    for home in _TEST_HOMES:
        _stop_daemons_of(home)


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    llm = FakeLLM().start()
    yield llm
    llm.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def root_of(repo: git.Repo) -> Path:
    assert repo.working_tree_dir is not None
    return Path(repo.working_tree_dir)


def make_repo(path: Path, files: dict[str, str] | None = None, commit: bool = True) -> git.Repo:
    """A real git repository with the given files committed (or only written)."""
    path.mkdir(parents=True, exist_ok=True)
    repo = git.Repo.init(path)
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "Test")
        cfg.set_value("user", "email", "test@example.invalid")
    for name, text in (files or {}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    if commit and files:
        repo.index.add(list(files))
        repo.index.commit("initial")
    return repo


@pytest.fixture
def project(tmp_path: Path) -> git.Repo:
    return make_repo(
        tmp_path / "project",
        {
            "README.md": "# Calculator\nA tiny calculator library.\n",
            "docs/PRD.md": "# PRD\nThe calculator must divide safely: division by zero raises ValueError.\n",
            "AGENTS.md": "# Agents\nEvery function needs a test in tests/.\n",
            "calc.py": "def add(a, b):\n    return a + b\n",
        },
    )


@pytest.fixture
def settings(tmp_path: Path, fake_llm: FakeLLM) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'brainrouter.db'}",
        review=ReviewSettings.model_validate(
            {
                "mode": "local",
                "max_iterations": 3,
                "round_timeout_s": 20,
                "progress_interval_s": 0.05,
                "local": {"base_url": fake_llm.base_url, "model": "fake-reviewer"},
                "cloud": {
                    "base_url": fake_llm.base_url,
                    "model": "fake-cloud",
                    "api_key_env": "FAKE_CLOUD_KEY",
                },
            }
        ),
    )


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[ReviewRuntime]:
    rt = ReviewRuntime(settings)
    yield rt
    await rt.aclose()


@pytest.fixture
async def service(runtime: ReviewRuntime) -> ReviewService:
    return await runtime.service()
