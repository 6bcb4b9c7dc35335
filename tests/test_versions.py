"""Versions: running vs installed vs an editable checkout, read from a real install's files."""

from __future__ import annotations

import json
from importlib.metadata import PathDistribution
from pathlib import Path

from mcp_server.versions import Versions, checkout_version, of


def _dist(tmp_path: Path, version: str, checkout: Path | None = None) -> PathDistribution:
    info = tmp_path / f"brainrouter-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: brainrouter\nVersion: {version}\n"
    )
    if checkout is not None:
        direct = {"dir_info": {"editable": True}, "url": checkout.as_uri()}
        (info / "direct_url.json").write_text(json.dumps(direct))
    return PathDistribution(info)


def _checkout(tmp_path: Path, version: str) -> Path:
    source = tmp_path / "src checkout"
    source.mkdir()
    (source / "pyproject.toml").write_text(
        f'[project]\nname = "brainrouter"\nversion = "{version}"\n'
    )
    return source


def test_a_daemon_older_than_its_install_says_restart(tmp_path: Path) -> None:
    report = of(_dist(tmp_path, "0.3.0"), running="0.2.1")
    assert report.latest_known == "0.3.0"
    assert report.action == "restart the daemon (0.3.0 is installed, 0.2.1 runs)"


def test_an_editable_checkout_ahead_of_its_metadata_says_reinstall(tmp_path: Path) -> None:
    dist = _dist(tmp_path, "0.3.0", _checkout(tmp_path, "0.10.0"))
    assert checkout_version(dist) == "0.10.0"  # a version, not a string, comparison (10 > 3)
    report = of(dist, running="0.3.0")
    assert report.as_dict() == {
        "running": "0.3.0",
        "installed": "0.3.0",
        "latest_known": "0.10.0",
        "action": "reinstall (0.10.0 is checked out, 0.3.0 installed)",
    }


def test_up_to_date_or_unreadable_checkouts_ask_nothing(tmp_path: Path) -> None:
    assert of(_dist(tmp_path, "1.0.0"), running="1.0.0").action is None
    broken = _checkout(tmp_path, "1.0.0")
    (broken / "pyproject.toml").write_text("[project\nversion = ")
    other = tmp_path / "other"
    other.mkdir()
    dist = _dist(other, "1.0.0", broken)
    assert checkout_version(dist) is None and of(dist, "1.0.0").action is None
    assert of(None, running=None).as_dict()["installed"] is None  # not installed at all


def test_this_install_reports_itself() -> None:
    report = Versions().report()
    assert report["brainrouter"]["running"] == report["brainrouter"]["installed"]
    assert report["llama-cpp-python"]["installed"]
