"""The dashboard's JSON API and ops endpoints on a real daemon."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.daemon import BRAINROUTER, Daemon
from tests.fake_llm import FakeLLM


def _env(tmp_path: Path, cloud: FakeLLM, local: FakeLLM) -> dict[str, str]:
    return {
        "BRAINROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'dash.db'}",
        "BRAINROUTER_PROXY__CLOUD__BASE_URL": cloud.base_url,
        "BRAINROUTER_PROXY__CLOUD__MODEL": "big-model",
        "BRAINROUTER_PROXY__LOCAL__BASE_URL": local.base_url,
        "BRAINROUTER_PROXY__LOCAL__MODEL": "small-model",
        "BRAINROUTER_REVIEW__LOCAL__BASE_URL": local.base_url,
        "BRAINROUTER_OPS__RESTART": json.dumps({"fake-service": "echo restarted fake-service"}),
        "BRAINROUTER_DASHBOARD__PRICES": json.dumps(
            {"big-model": {"input_per_mtok": 3.0, "output_per_mtok": 15.0}}
        ),
        "BRAINROUTER_DASHBOARD__REFRESH_S": "0.2",
    }


@pytest.fixture
def daemon(tmp_path: Path, cloud: FakeLLM, local: FakeLLM) -> Iterator[Daemon]:
    d = Daemon(_env(tmp_path, cloud, local), tmp_path / "daemon.log").start()
    yield d
    d.stop()


def _token() -> str:
    proc = subprocess.run([BRAINROUTER, "token"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_dashboard_data(daemon: Daemon) -> None:
    client = openai.OpenAI(base_url=f"{daemon.url}/v1", api_key="x", max_retries=0)
    for _ in range(2):
        client.chat.completions.create(
            model="local", messages=[{"role": "user", "content": "same thing"}]
        )
    client.chat.completions.create(
        model="cloud", messages=[{"role": "user", "content": "<b>hard</b> thing"}]
    )
    data = httpx.get(f"{daemon.url}/api/dashboard").json()
    assert (
        data["latest"]["upstream"] == "cloud"
        and data["latest"]["prompt_excerpt"] == "<b>hard</b> thing"
    )
    assert [(r["upstream"], r["count"]) for r in data["rows"]] == [("cloud", 1), ("local", 2)]
    totals = data["totals"]
    assert totals["requests"] == 3 and totals["by_route"] == {"cloud": 1, "local": 2}
    assert totals["local_share"] == pytest.approx(2 / 3)
    assert totals["tokens"]["local"] == {"input": 22, "output": 14}
    assert totals["cloud_cost_avoided"] == pytest.approx((22 * 3 + 14 * 15) / 1e6)
    assert data["health"]["cloud"]["status"] == "up"
    assert data["local_models"] == ["fake-local-1", "fake-local-2"]
    series = httpx.get(f"{daemon.url}/api/timeseries", params={"window": "hour"}).json()
    assert sum(series["requests"]["local"]) == 2 and sum(series["requests"]["cloud"]) == 1
    assert httpx.get(f"{daemon.url}/api/timeseries", params={"window": "year"}).status_code == 422
    page = httpx.get(f"{daemon.url}/").text
    assert "Newest request" in page and "Restart fake-service" in page
    library = httpx.get(f"{daemon.url}/static/uplot/uPlot.iife.min.js")
    assert library.status_code == 200 and "uPlot" in library.text  # shipped, no CDN
    versions = httpx.get(f"{daemon.url}/api/versions").json()
    assert versions["brainrouter"] == versions["components"]["brainrouter"]["installed"]
    assert versions["components"]["brainrouter"]["action"] is None
    assert set(versions["upstreams"]) == {"cloud", "local"}


def test_ops_need_the_admin_token_and_run_only_configured_commands(daemon: Daemon) -> None:
    url = f"{daemon.url}/api/restart/fake-service"
    assert httpx.post(url).status_code == 401
    assert httpx.post(url, headers={"x-brainrouter-token": "wrong"}).status_code == 401
    token = _token()
    done = httpx.post(url, headers={"x-brainrouter-token": token})
    assert done.status_code == 200 and done.json()["output"].strip() == "restarted fake-service"
    unknown = httpx.post(
        f"{daemon.url}/api/restart/rm%20-rf", headers={"authorization": f"Bearer {token}"}
    )
    assert unknown.status_code == 404 and "fake-service" in unknown.json()["detail"]
    assert (
        httpx.post(
            f"{daemon.url}/api/upgrade/anything", headers={"x-brainrouter-token": token}
        ).status_code
        == 404
    )
    forged = httpx.post(
        url, headers={"x-brainrouter-token": token, "Origin": "http://evil.example"}
    )
    assert forged.status_code == 403


def test_the_token_file_is_private() -> None:
    token = _token()
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "brainrouter" / "admin-token"
    assert path.read_text().strip() == token == _token()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    proc = subprocess.run([BRAINROUTER, "token"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1 and "chmod 600" in proc.stderr


def test_binding_beyond_loopback_needs_consent_and_then_the_token(
    tmp_path: Path, cloud: FakeLLM, local: FakeLLM
) -> None:
    env = {**os.environ, **_env(tmp_path, cloud, local), "BRAINROUTER_SERVER__HOST": "0.0.0.0"}
    refused = subprocess.run(
        [BRAINROUTER, "serve"], env=env, capture_output=True, text=True, timeout=30
    )
    assert refused.returncode == 1 and "allow_remote" in refused.stderr
    d = Daemon(
        {
            **_env(tmp_path, cloud, local),
            "BRAINROUTER_SERVER__HOST": "0.0.0.0",
            "BRAINROUTER_SERVER__ALLOW_REMOTE": "true",
        },
        tmp_path / "remote.log",
    ).start()
    try:
        assert httpx.get(f"{d.url}/v1/models").status_code == 401
        models = httpx.get(f"{d.url}/v1/models", headers={"authorization": f"Bearer {_token()}"})
        assert models.status_code == 200
        assert httpx.get(f"{d.url}/metrics").status_code == 401  # an ops endpoint like the rest
        token = {"authorization": f"Bearer {_token()}"}
        assert "brainrouter_requests" in httpx.get(f"{d.url}/metrics", headers=token).text
    finally:
        d.stop()
