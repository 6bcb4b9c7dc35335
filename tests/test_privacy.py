"""The privacy guard: key files never sent, five kinds of planted secrets redacted before any
reviewer sees them, and nothing else in ordinary code touched."""

from __future__ import annotations

import git
import pytest

from review.loop import ReviewService
from review.privacy import key_file_reason, redact
from review.request import ReviewRequest
from tests.conftest import root_of
from tests.fake_llm import FakeLLM

OPENAI_KEY = "sk-proj-Zq4cN8vLr2Tx7WbK1mPe9YdFhJ3sAa0GuVt6XoRi"
AWS_KEY_ID = "AKIAZ7QWERTYUIOPASDF"
GITHUB_TOKEN = "ghp_R4nd0mT0k3nV4lu3F0rT3st1ngPurp0s3sXy"
ENV_VALUE = "s3cr3t-db-passw0rd-value"
PRIVATE_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f'OPENAI_API_KEY = "{OPENAI_KEY}"', "openai-key"),
        (f"client = Client(key='{AWS_KEY_ID}')", "aws-access-key"),
        (f"token: {GITHUB_TOKEN}", "github-token"),
        (f"+DATABASE_PASSWORD={ENV_VALUE}", "secret-assignment"),
        (f"key = '''{PRIVATE_KEY}'''", "private-key"),
        ("sk-ant-api03-" + "A" * 40, "anthropic-key"),
    ],
)
def test_secrets_are_replaced_with_their_kind(text: str, kind: str) -> None:
    found = redact(text)
    assert f"[REDACTED:{kind}]" in found.text
    for secret in (OPENAI_KEY, AWS_KEY_ID, GITHUB_TOKEN, ENV_VALUE, "b3BlbnNzaC1rZXkt", "A" * 40):
        assert secret not in found.text
    assert found.total >= 1


@pytest.mark.parametrize(
    "text",
    [
        "def token_for(user):\n    return make_token(user.id)\n",
        "password = os.environ['DB_PASSWORD']\n",
        "API_KEY=${API_KEY}\n",
        "SECRET_KEY=<your-secret-here>\n",
        "x = compute(a, b)  # normal code\n",
        "risk = task-manager.sk-thing\n",
    ],
)
def test_ordinary_code_is_left_alone(text: str) -> None:
    assert redact(text).text == text


@pytest.mark.parametrize(
    ("path", "withheld"),
    [
        (".env", True),
        ("config/.env.production", True),
        ("deploy/server.pem", True),
        ("home/.ssh/id_rsa", True),
        ("id_ed25519.pub", True),
        ("keys/release.keystore", True),
        (".env.example", False),
        ("src/id_utils.py", False),
        ("environment.py", False),
    ],
)
def test_key_files(path: str, withheld: bool) -> None:
    assert (key_file_reason(path) is not None) is withheld


async def test_planted_secrets_never_reach_the_reviewer(
    service: ReviewService, project: git.Repo, fake_llm: FakeLLM
) -> None:
    root = root_of(project)
    (root / "settings.py").write_text(
        f'OPENAI_API_KEY = "{OPENAI_KEY}"\nAWS_ACCESS_KEY_ID = "{AWS_KEY_ID}"\n'
        f'GITHUB = "{GITHUB_TOKEN}"\n'
    )
    (root / ".env").write_text(f"DATABASE_PASSWORD={ENV_VALUE}\n")
    (root / "id_rsa").write_text(PRIVATE_KEY)
    (root / "README.md").write_text(f"# Calculator\nDeploy with token {GITHUB_TOKEN}\n")
    result = await service.request_review(
        ReviewRequest(
            task_id="secrets",
            summary=f"Added settings; my key is {OPENAI_KEY}",
            cwd=str(root),
            details=f"AWS id {AWS_KEY_ID}",
        )
    )
    prompt = fake_llm.prompts()[-1]
    for secret in (OPENAI_KEY, AWS_KEY_ID, GITHUB_TOKEN, ENV_VALUE, "b3BlbnNzaC1rZXkt"):
        assert secret not in prompt
    assert "[REDACTED:openai-key]" in prompt and "[REDACTED:github-token]" in prompt
    skipped = {s.path: s.reason for s in result.skipped_files}
    assert "never sent" in skipped[".env"] and "never sent" in skipped["id_rsa"]
    assert result.redacted_secrets >= 5
    details = await service.session_details("secrets")
    stored = details.rounds[-1]
    assert stored.redactions["openai-key"] >= 2
    assert OPENAI_KEY not in (stored.diff or "") and "[REDACTED:" in (stored.diff or "")
