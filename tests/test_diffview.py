"""The session page's diff: numbered lines, findings at their lines, escaped code, and what
changed since the previous round."""

from __future__ import annotations

from typing import Any

from review.diffview import view

ROUND_1 = """--- a/app.py
+++ b/app.py
@@ -1,2 +1,3 @@
 import os
-x = 1
+x = "<script>alert(1)</script>"
+y = 2
--- /dev/null
+++ b/new.txt
@@ -0,0 +1 @@
+hello
# deleted: old.py (10 lines)
"""
ROUND_2 = """--- a/app.py
+++ b/app.py
@@ -1,2 +1,3 @@
 import os
-x = 1
+x = 3
+y = 2
--- /dev/null
+++ b/new.txt
@@ -0,0 +1 @@
+hello
"""


def test_lines_are_numbered_and_findings_anchored() -> None:
    findings: list[dict[str, Any]] = [
        {"file": "app.py", "line": 3, "message": "y unused", "severity": "minor"},
        {"file": "app.py", "line": 99, "message": "not shown", "severity": "blocking"},
        {"file": None, "line": None, "message": "general", "severity": "blocking"},
    ]
    result = view(ROUND_1, findings)
    assert [f.path for f in result.files] == ["app.py", "new.txt", "old.py"]
    app = result.files[0]
    numbered = [(ln.kind, ln.old, ln.new) for ln in app.lines]
    assert numbered == [
        ("note", None, None),
        ("ctx", 1, 1),
        ("del", 2, None),
        ("add", None, 2),
        ("add", None, 3),
    ]
    assert [f["message"] for f in app.lines[-1].findings] == ["y unused"]
    assert [f["message"] for f in app.findings] == ["not shown"]
    assert [f["message"] for f in result.findings] == ["general"]
    code = str(app.lines[3].html)
    assert "<script>" not in code and "&lt;" in code  # escaped by Pygments
    assert "<span" in code  # and highlighted


def test_what_changed_since_the_previous_round() -> None:
    result = view(ROUND_2, [], previous=ROUND_1)
    since = {f.path: f.since for f in result.files}
    assert since == {"app.py": "changed", "new.txt": "same"}
    assert result.gone == ["old.py"]
    assert {f.since for f in view(ROUND_1, []).files} == {"first"}
