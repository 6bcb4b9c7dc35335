import pytest

from review.verdict import UnparseableAnswer, human_verdict, parse_verdict


def test_bare_json_object() -> None:
    v = parse_verdict('{"status": "approved", "feedback": "fine"}')
    assert v.status == "approved"
    assert v.feedback == "fine"


def test_fenced_json_with_prose_and_findings() -> None:
    answer = """Here is my review.
```json
{"Status": "NEEDS_REVISION", "Feedback": "Guard the division.",
 "findings": [{"file": "calc.py", "line": "12", "severity": "critical", "message": "divides by zero"},
              {"path": "README.md", "severity": "nit", "message": "typo"}]}
```
"""
    v = parse_verdict(answer)
    assert v.status == "needs_revision"
    assert v.feedback == "Guard the division."
    assert [(f.file, f.line, f.severity) for f in v.findings] == [
        ("calc.py", 12, "blocking"),
        ("README.md", None, "minor"),
    ]


def test_status_line_any_case() -> None:
    v = parse_verdict("**status:** Needs Revision\nAdd a test for divide().")
    assert v.status == "needs_revision"
    assert v.feedback == "Add a test for divide()."
    assert parse_verdict("STATUS: approved").status == "approved"


def test_think_block_is_ignored() -> None:
    v = parse_verdict(
        '<think>status: approved? no...</think>\n{"status":"needs_revision","feedback":"x"}'
    )
    assert v.status == "needs_revision"


def test_json_without_feedback_uses_findings() -> None:
    v = parse_verdict('{"verdict": "needs_revision", "issues": ["missing test"]}')
    assert v.feedback == "- missing test"


@pytest.mark.parametrize(
    "answer", ["", "I think it is fine", '{"status": "maybe"}', "status: unsure"]
)
def test_unparseable(answer: str) -> None:
    with pytest.raises(UnparseableAnswer):
        parse_verdict(answer)


@pytest.mark.parametrize(
    "text", ["lgtm", "LGTM!", "ok", "Approved.", "looks good", "Ship it!", " ship  it "]
)
def test_human_approvals(text: str) -> None:
    assert human_verdict(text).status == "approved"


@pytest.mark.parametrize("text", ["lgtm but rename foo", "not ok", "please add tests"])
def test_human_revision_keeps_text(text: str) -> None:
    verdict = human_verdict(text)
    assert verdict.status == "needs_revision"
    assert verdict.feedback == text


def test_human_empty_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        human_verdict("   ")
