import tomllib
from pathlib import Path

import pytest

from sluice.config import Config, ConfigError, check, find_config, load_config


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sluice.toml"
    path.write_text(text)
    return path


def _problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, text))
    return [str(problem) for problem in caught.value.problems]


def test_no_file_means_every_default():
    config = load_config(None)
    assert config == Config()
    assert (config.server.public_port, config.server.internal_host, config.server.internal_port) == (
        8400, "127.0.0.1", 8401,
    )
    assert [(site.id, site.origins) for site in config.sites] == [("default", ["*"])]
    assert (config.warehouse.retention_months, config.warehouse.ip_retention_days) == (25, 30)


def test_a_file_overrides_only_what_it_sets(tmp_path):
    config = load_config(_write(tmp_path, '[server]\npublic_port = 9000\n[[sites]]\nid = "main"\norigins = ["https://www.example.org"]\n'))
    assert config.server.public_port == 9000 and config.server.internal_port == 8401
    assert [site.id for site in config.sites] == ["main"]


def test_a_typo_is_an_error_that_names_the_key_and_suggests_the_right_one(tmp_path):
    assert _problems(tmp_path, "[warehouse]\nretention_month = 12\n") == [
        "warehouse.retention_month: unknown key; did you mean 'retention_months'?"
    ]


def test_an_unknown_section_is_an_error(tmp_path):
    (problem,) = _problems(tmp_path, "[collectr]\nx = 1\n")
    assert problem.startswith("collectr: unknown key")


def test_every_problem_is_reported_at_once_with_the_expected_type_or_range(tmp_path):
    problems = _problems(
        tmp_path,
        """
        [warehouse]
        ip_retention_days = -1
        [server]
        public_port = 70000
        internal_port = "8401"
        log_level = "loud"
        [[sites]]
        id = "Main Site"
        origins = ["https://ok.example.org", "https://bad.example.org/path"]
        [[sites]]
        origins = ["*"]
        """,
    )
    assert problems == [
        "warehouse.ip_retention_days: expected int >= 0",
        "server.public_port: expected int <= 65535",
        "server.internal_port: expected int, got str",
        "server.log_level: expected one of debug, info, warning, error, got 'loud'",
        "sites[0].id: expected lowercase letters, digits, - and _ (at most 64), got 'Main Site'",
        "sites[0].origins[1]: expected an origin (scheme and host only) like https://www.example.org, or *, "
        "got 'https://bad.example.org/path'",
        "sites[1]: missing required key 'id'",
    ]


def test_a_password_in_the_dsn_is_refused(tmp_path):
    (problem,) = _problems(tmp_path, '[warehouse]\ndsn = "http://sluice:hunter2@ch:8123/sluice"\n')
    assert "must not contain a password" in problem and "password_env" in problem
    assert "hunter2" not in problem


def test_an_unusable_dsn_is_refused(tmp_path):
    (problem,) = _problems(tmp_path, '[warehouse]\ndsn = "mysql://db/x"\n')
    assert problem.startswith("warehouse: unsupported warehouse DSN")


def test_site_ids_must_be_unique(tmp_path):
    site = '[[sites]]\nid = "main"\norigins = ["*"]\n'
    assert _problems(tmp_path, site + site) == ["site ids must be unique; repeated: main"]


def test_the_password_env_must_be_a_variable_name(tmp_path):
    (problem,) = _problems(tmp_path, '[warehouse]\npassword_env = "my password"\n')
    assert problem.startswith("warehouse.password_env: expected an environment variable name")


def test_invalid_toml_is_reported_with_its_position(tmp_path):
    (problem,) = _problems(tmp_path, "[server\n")
    assert "not valid TOML" in problem and "line 1" in problem


def test_a_missing_file_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


def test_the_file_is_found_by_option_then_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SLUICE_CONFIG", str(tmp_path / "env.toml"))
    assert find_config(tmp_path / "opt.toml") == tmp_path / "opt.toml"
    assert find_config(None) == tmp_path / "env.toml"
    monkeypatch.delenv("SLUICE_CONFIG")
    assert find_config(None) is None


def test_the_readme_example_is_a_valid_config():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    example = readme.split("```toml\n[warehouse]", 1)[1].split("```", 1)[0]
    assert check(tomllib.loads("[warehouse]" + example)) == []


def test_an_instance_is_named_after_its_host_unless_the_config_names_it(tmp_path, monkeypatch):
    monkeypatch.setattr("socket.gethostname", lambda: "Web_01.hospital.internal")
    assert load_config(None).server.instance_id == "web-01"
    path = tmp_path / "sluice.toml"
    path.write_text('[server]\ninstance = "collector-b"\n')
    assert load_config(path).server.instance_id == "collector-b"
    path.write_text('[server]\ninstance = "Collector B"\n')
    with pytest.raises(ConfigError, match="server.instance"):
        load_config(path)
