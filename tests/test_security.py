"""Pages on other origins and oversized bodies (mcp_server/security.py), attacked through the
daemon's real app on a loopback port, and in a real browser."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from mcp_server.security import allowed_origins, origin_key
from tests.browser_fixtures import needs_chromium
from tests.fake_llm import FakeLLM
from tests.proxy_server import ServerThread

CHAT = {"model": "cloud", "messages": [{"role": "user", "content": "spend the owner's key"}]}


def test_origin_key_is_scheme_host_and_port() -> None:
    assert origin_key("http://127.0.0.1:9099") == ("http", "127.0.0.1", 9099)
    assert origin_key("https://Example.org") == ("https", "example.org", 443)
    assert origin_key("null") is None and origin_key("file://x") is None
    assert origin_key("http://[::1]:80") == ("http", "::1", 80)
    assert origin_key("http://h:99999") is None
    own = allowed_origins({"127.0.0.1", "localhost"}, 9099, None)
    assert ("http", "127.0.0.1", 9099) in own and ("http", "127.0.0.1", 18320) not in own
    assert ("https", "127.0.0.1", 9099) not in own


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://127.0.0.1:18320", "content-type": "text/plain"},
        {"Origin": "http://127.0.0.1:18320", "content-type": "application/json"},
        {"Origin": "https://127.0.0.1:{port}", "content-type": "application/json"},
        {"Origin": "null", "content-type": "application/json"},
        {"Sec-Fetch-Site": "same-site", "content-type": "application/json"},
        {"content-type": "text/plain"},
        {"content-type": "application/x-www-form-urlencoded"},
    ],
)
def test_other_origins_and_non_json_bodies_never_reach_the_cloud(
    server: ServerThread, cloud: FakeLLM, headers: dict[str, str]
) -> None:
    headers = {k: v.format(port=server.port) for k, v in headers.items()}
    import json

    response = httpx.post(
        f"{server.url}/v1/chat/completions", content=json.dumps(CHAT), headers=headers
    )
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "permission_error"  # both SDKs read this shape
    assert cloud.requests == []


def test_own_origin_reaches_the_cloud(server: ServerThread, cloud: FakeLLM) -> None:
    response = httpx.post(
        f"{server.url}/v1/chat/completions", json=CHAT, headers={"Origin": server.url}
    )
    assert response.status_code == 200 and len(cloud.requests) == 1


def test_oversized_bodies_are_refused_before_parsing(server: ServerThread) -> None:
    big = b'{"taskId": "x", "summary": "' + b"a" * 5_000_000 + b'"}'
    declared = httpx.post(
        f"{server.url}/review/api/request",
        content=big,
        headers={"content-type": "application/json"},
    )
    assert declared.status_code == 413 and "limit" in declared.text

    def chunks() -> Iterator[bytes]:  # no content-length: counted while read
        for _ in range(50):
            yield b"a" * 200_000

    streamed = httpx.post(
        f"{server.url}/api/review-config",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert streamed.status_code == 413
    assert httpx.get(f"{server.url}/health").status_code == 200
    # A normal body still passes the limit and reaches validation.
    assert httpx.post(f"{server.url}/api/review-config", json={"mode": "x"}).status_code == 422


@pytest.fixture
def attacker_page(tmp_path: Path) -> Iterator[str]:
    """A page served by another program on 127.0.0.1 (another port: another origin)."""
    (tmp_path / "evil.html").write_text("<html><body>hello</body></html>")
    handler = type(
        "Quiet",
        (http.server.SimpleHTTPRequestHandler,),
        {"log_message": lambda *a: None},
    )
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a: handler(*a, directory=str(tmp_path))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/evil.html"
    httpd.shutdown()


@needs_chromium
def test_a_page_on_another_port_cannot_spend_cloud_tokens(
    browser: Browser, server: ServerThread, cloud: FakeLLM, attacker_page: str
) -> None:
    page = browser.new_page()
    page.goto(attacker_page)
    statuses = page.evaluate(
        """async ([url, body]) => {
            const out = [];
            for (let i = 0; i < 5; i++) {
              await fetch(url + "/v1/chat/completions",
                          {method: "POST", mode: "no-cors", body: JSON.stringify(body)});
              await fetch(url + "/v1/chat/completions",
                          {method: "POST", mode: "no-cors", body: new Blob([JSON.stringify(body)])});
              try {
                const r = await fetch(url + "/review/api/lgtm", {method: "POST",
                    headers: {"content-type": "application/json"},
                    body: JSON.stringify({sessionId: "x"})});
                out.push(r.status);
              } catch (e) { out.push("blocked"); }
            }
            return out;
        }""",
        [server.url, CHAT],
    )
    assert cloud.requests == []
    assert all(s == "blocked" for s in statuses)  # a preflight the daemon never allows
    page.close()
