from pathlib import Path

import pytest

from mcp_server.config import ConfigError, Settings, load_settings, user_config_file


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_without_any_file() -> None:
    settings = load_settings()
    assert settings.server.port == 9099
    assert settings.review.max_iterations == 5
    assert settings.database_url.startswith("sqlite:///")
    assert settings.database_url.endswith("brainrouter/brainrouter.db")


def test_user_file_is_read_and_env_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    _write(
        user_config_file(),
        "review:\n  max_iterations: 7\n  local:\n    base_url: http://127.0.0.1:8081/v1/\n",
    )
    assert load_settings().review.max_iterations == 7
    assert load_settings().review.local.base_url == "http://127.0.0.1:8081/v1"
    monkeypatch.setenv("BRAINROUTER_REVIEW__MAX_ITERATIONS", "2")
    monkeypatch.setenv("BRAINROUTER_SERVER__PORT", "9100")
    settings = load_settings()
    assert settings.review.max_iterations == 2
    assert settings.server.port == 9100
    assert settings.review.local.base_url == "http://127.0.0.1:8081/v1"  # rest of the file kept


def test_explicit_file_via_option_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    custom = _write(tmp_path / "c.yaml", "server:\n  port: 9200\n")
    assert load_settings(custom).server.port == 9200
    monkeypatch.setenv("BRAINROUTER_CONFIG", str(custom))
    assert load_settings().server.port == 9200


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("review:\n  max_iterations: many\n", "review.max_iterations"),
        ("review:\n  mode: sometimes\n", "review.mode"),
        ("server:\n  port: 70000\n", "server.port"),
        ("review:\n  local:\n    base_url: ftp://x\n", "review.local.base_url"),
        ("reveiw:\n  max_iterations: 3\n", "reveiw: unknown key"),
        ("review:\n  prompt_template: /no/such/file.md\n", "review.prompt_template"),
        ("log_level: loud\n", "log_level"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, yaml_text: str, expected: str) -> None:
    path = _write(tmp_path / "bad.yaml", yaml_text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)


def test_bad_env_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRAINROUTER_REVIEW__ROUND_TIMEOUT_S", "-1")
    with pytest.raises(ConfigError, match="BRAINROUTER_REVIEW__ROUND_TIMEOUT_S"):
        load_settings()


def test_unparseable_yaml_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = _write(tmp_path / "broken.yaml", "review: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(path)
    assert path.read_text() == "review: [unclosed\n"


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(_write(tmp_path / "list.yaml", "- a\n- b\n"))


def test_invalid_utf8_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("review:\n  local_model: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1.yaml: not UTF-8 text \(byte 0xe9"):
        load_settings(path)
    assert path.read_bytes().endswith(b"caf\xe9\n")  # left as it was


def test_serve_prints_the_clean_message_for_a_non_utf8_file(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "bad.yaml"
    path.write_bytes(b"server:\n  port: \xff\xfe\n")
    cli = str(Path(sys.executable).parent / "brainrouter")
    done = subprocess.run(
        [cli, "serve", "--config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "not UTF-8 text" in done.stderr and "Traceback" not in done.stderr


def test_a_cloud_section_without_api_key_env_still_reads_the_default_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BRAINROUTER_PROXY__CLOUD__BASE_URL", "https://gw.example/v1")
    assert Settings().proxy.cloud.api_key_env == "BRAINROUTER_CLOUD_API_KEY"
    explicit = Settings.model_validate({"proxy": {"cloud": {"api_key_env": None}}})
    assert explicit.proxy.cloud.api_key_env is None  # said so: no key
