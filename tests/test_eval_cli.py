"""`brainrouter eval` and `brainrouter calibrate` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BRAINROUTER = str(Path(sys.executable).parent / "brainrouter")


def _records(path: Path) -> Path:
    rows = [
        {
            "id": f"r{i}",
            "prompt": ("hard multi-step question " * (i % 7)) + "x" * i + f" number {i}",
            "weak_score": float(i % 3 != 0),
            "strong_score": 1.0,
        }
        for i in range(60)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BRAINROUTER, *args], capture_output=True, text=True, timeout=120)


def test_eval_prints_metrics_and_writes_scores(tmp_path: Path) -> None:
    data = _records(tmp_path / "data.jsonl")
    out = tmp_path / "scores.jsonl"
    proc = _run("eval", "--data", str(data), "--scores-out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)["results"][0]
    assert result["records"] == 60
    assert 0 <= result["cpt50"] <= result["cpt80"] <= 1
    assert result["weak_accuracy"] < result["strong_accuracy"] == 1.0
    assert result["latency_p50_ms"] <= result["latency_p99_ms"]
    scores = [json.loads(line) for line in out.read_text().splitlines()]
    assert [s["id"] for s in scores] == [f"r{i}" for i in range(60)]
    assert all(0 <= s["score"] <= 1 for s in scores)

    # what any router must beat, on the same records
    assert result["length_apgr"] > 0.5  # longer prompts are the harder ones in this file
    assert result["random_apgr_p5"] < 0.5 < result["random_apgr_p95"]
    assert result["beats_baselines"] == (
        result["apgr"] > max(result["length_apgr"], result["random_apgr_p95"])
    )
    assert result["seen_in_training"] == 0

    table = _run("eval", "--data", str(data), "--router", "length")
    assert table.returncode == 0 and "APGR" in table.stdout and "random 5-95%" in table.stdout


def test_eval_refuses_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": "a", "prompt": "x", "weak_score": 1, "strong_score": 0}\n{"id": "b", "prompt": "y"}\n'
    )
    proc = _run("eval", "--data", str(bad))
    assert proc.returncode == 2 and "bad.jsonl:2" in proc.stderr and "weak_score" in proc.stderr
    assert _run("eval", "--data", str(tmp_path / "missing.jsonl")).returncode == 2
    assert "--router must be" in _run("eval", "--data", str(bad), "--router", "magic").stderr


def test_calibrate_finds_the_threshold_for_a_cloud_share(tmp_path: Path) -> None:
    data = _records(tmp_path / "data.jsonl")
    proc = _run("calibrate", "--data", str(data), "--cloud-share", "0.25")
    assert proc.returncode == 0, proc.stderr
    threshold = float(proc.stdout.split()[1])
    assert "BRAINROUTER_PROXY__CLASSIFIER__THRESHOLD" in proc.stdout
    scores_out = tmp_path / "s.jsonl"
    _run("eval", "--data", str(data), "--scores-out", str(scores_out), "--json")
    scores = [json.loads(line)["score"] for line in scores_out.read_text().splitlines()]
    share = sum(s >= threshold for s in scores) / len(scores)
    assert 0.15 <= share <= 0.35


def test_calibrate_write_sets_the_threshold_and_keeps_the_rest_of_the_file(
    tmp_path: Path,
) -> None:
    from mcp_server.config import load_settings

    data = _records(tmp_path / "data.jsonl")
    config = tmp_path / "brainrouter.yaml"
    config.write_text("# my settings\nserver:\n  port: 9911  # not the default\n")
    proc = _run(
        "calibrate", "--data", str(data), "--cloud-share", "0.25", "--write", "-c", str(config)
    )
    assert proc.returncode == 0, proc.stderr
    threshold = float(proc.stdout.split()[1])
    text = config.read_text()
    assert "# my settings" in text and "9911  # not the default" in text
    settings = load_settings(config)
    assert settings.proxy.classifier.threshold == round(threshold, 4)
    assert settings.server.port == 9911
    backups = list(tmp_path.glob("brainrouter.yaml.bak-*"))
    assert [b.read_text() for b in backups] == [
        "# my settings\nserver:\n  port: 9911  # not the default\n"
    ]


def test_calibrate_write_leaves_an_invalid_config_untouched(tmp_path: Path) -> None:
    data = _records(tmp_path / "data.jsonl")
    config = tmp_path / "brainrouter.yaml"
    config.write_text("proxy:\n  classifier: 3\n")
    proc = _run("calibrate", "--data", str(data), "--write", "-c", str(config))
    assert proc.returncode == 2
    assert "proxy.classifier" in proc.stderr
    assert config.read_text() == "proxy:\n  classifier: 3\n"
    assert not list(tmp_path.glob("*.bak-*"))


def test_eval_on_the_training_data_says_so_and_held_out_scores_only_the_rest(
    tmp_path: Path,
) -> None:
    from proxy.classifier.evaluation import held_out

    agent_tasks = Path(__file__).resolve().parents[1] / "proxy/classifier/data/agent-tasks.jsonl"
    everything = _run("eval", "--data", str(agent_tasks), "--router", "learned", "--json")
    assert everything.returncode == 0, everything.stderr
    ids = [json.loads(line)["id"] for line in agent_tasks.read_text().splitlines()]
    trained = sum(not held_out(i) for i in ids)
    assert f"the router was trained on {trained} of the {len(ids)} records" in everything.stderr
    assert json.loads(everything.stdout)["results"][0]["seen_in_training"] == trained
    # the same prompts under other ids and other whitespace are still recognised
    renamed = tmp_path / "renamed.jsonl"
    rows = [json.loads(line) for line in agent_tasks.read_text().splitlines()]
    renamed.write_text(
        "\n".join(
            json.dumps({**r, "id": f"x{n}", "prompt": "  " + r["prompt"].upper() + "\n"})
            for n, r in enumerate(rows)
        )
    )
    again = _run("eval", "--data", str(renamed), "--router", "learned", "--json")
    assert json.loads(again.stdout)["results"][0]["seen_in_training"] == trained
    proc = _run("eval", "--data", str(agent_tasks), "--router", "learned", "--held-out", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "trained on" not in proc.stderr
    assert json.loads(proc.stdout)["results"][0]["records"] == sum(map(held_out, ids)) > 0

    lonely = tmp_path / "lonely.jsonl"  # no id in it hashes into the held-out split
    lonely.write_text(
        "\n".join(
            json.dumps({"id": i, "prompt": "p", "weak_score": 1, "strong_score": 1})
            for i in map(str, range(40))
            if not held_out(i)
        )
    )
    refused = _run("eval", "--data", str(lonely), "--router", "learned", "--held-out")
    assert refused.returncode == 2 and "no held-out records" in refused.stderr
