"""The `sluice` command, run in-process against the test engine."""

import base64
from pathlib import Path

import pytest
from click.testing import CliRunner

from sluice.cli import cli
from sluice.datadir import AUDIT_KEY_ENV
from tests.conftest import AUDIT_KEY, unused_port
from warehouse import MIGRATIONS


@pytest.fixture
def runner() -> CliRunner:
    """The command line, signing audit entries with the key the tests' warehouses are opened with."""
    return CliRunner(env={AUDIT_KEY_ENV: base64.b64encode(AUDIT_KEY).decode()})


@pytest.fixture
def config_file(tmp_path: Path, warehouse_settings) -> Path:
    path = tmp_path / "sluice.toml"
    path.write_text(f'[warehouse]\ndsn = "{warehouse_settings.dsn}"\n')
    return path


@pytest.fixture
def sluice(runner, config_file, tmp_path):
    """Run a sluice command with this test's config file and data dir."""

    def run(*args: str):
        return runner.invoke(cli, [*args, "--config", str(config_file), "--data-dir", str(tmp_path / "data")])

    return run


def test_help_lists_the_commands(runner):
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "migrate", "config", "audit"):
        assert command in result.output


def test_config_check_accepts_a_valid_file(runner, config_file):
    result = runner.invoke(cli, ["config", "check", str(config_file)])
    assert result.exit_code == 0 and "valid" in result.output


def test_config_check_names_the_mistyped_key_and_exits_2(runner, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\npublic_prot = 8400\n")
    result = runner.invoke(cli, ["config", "check", str(bad)])
    assert result.exit_code == 2
    assert "server.public_prot: unknown key; did you mean 'public_port'?" in result.output


@pytest.mark.parametrize("where", ["before", "after", "environment"])
def test_the_config_file_can_be_given_before_or_after_the_command_or_by_environment(runner, tmp_path, where):
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nport = 1\n")
    args = {
        "before": ["--config", str(bad), "config", "check"],
        "after": ["config", "check", "--config", str(bad)],
        "environment": ["config", "check"],
    }[where]
    result = runner.invoke(cli, args, env={"SLUICE_CONFIG": str(bad)} if where == "environment" else {})
    assert result.exit_code == 2 and "server.port: unknown key" in result.output


def test_config_check_without_a_file_reports_the_defaults(runner):
    result = runner.invoke(cli, ["config", "check"], env={"SLUICE_CONFIG": ""})
    assert result.exit_code == 0 and "defaults" in result.output


def test_migrate_applies_the_schema_once(sluice):
    first, second = sluice("migrate"), sluice("migrate")
    assert first.exit_code == 0
    assert [line.split(":")[0] for line in first.output.splitlines()] == [
        f"applied migration {m.version}" for m in MIGRATIONS
    ]
    assert second.exit_code == 0 and f"schema is up to date (version {MIGRATIONS[-1].version})" in second.output


def test_audit_verify_exits_0_while_intact_and_1_after_tampering(sluice, warehouse):
    intact = sluice("audit", "verify")
    assert intact.exit_code == 0 and "audit log intact" in intact.output
    warehouse.client.command("ALTER TABLE audit_log UPDATE actor = 'mallory' WHERE chain = 'main' AND seq = 1",
                             settings={"mutations_sync": 1})
    broken = sluice("audit", "verify")
    assert broken.exit_code == 1
    assert "chain 'main', entry 1: contents do not match its signature (the row was altered" in broken.output
    assert "audit log not intact: 1 findings" in broken.output


def test_commands_refuse_an_invalid_config_with_exit_2(runner, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[warehouse]\nretention_months = 0\n")
    result = runner.invoke(cli, ["migrate", "--config", str(bad), "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 2 and "warehouse.retention_months: expected int >= 1" in result.output


def test_an_unreachable_server_is_one_line_not_a_traceback(runner, tmp_path):
    config = tmp_path / "server.toml"
    config.write_text(f'[warehouse]\ndsn = "http://sluice@127.0.0.1:{unused_port()}/sluice"\n')
    result = runner.invoke(cli, ["migrate", "--config", str(config), "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 1
    assert result.output.startswith("sluice: cannot open the warehouse at http://sluice@127.0.0.1:")
    assert result.output.count("\n") == 1 and "Traceback" not in result.output


def test_a_missing_password_variable_is_named(runner, tmp_path):
    config = tmp_path / "server.toml"
    config.write_text('[warehouse]\ndsn = "http://sluice@127.0.0.1:1/sluice"\npassword_env = "SLUICE_TEST_UNSET"\n')
    result = runner.invoke(cli, ["migrate", "--config", str(config), "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 1
    assert "SLUICE_TEST_UNSET (warehouse.password_env) is not set" in result.output


def test_audit_verify_refuses_a_data_dir_without_a_warehouse(runner, tmp_path):
    result = runner.invoke(cli, ["audit", "verify", "--data-dir", str(tmp_path / "typo")], env={"SLUICE_CONFIG": ""})
    assert result.exit_code == 1 and "there is no warehouse at" in result.output
    assert not (tmp_path / "typo" / "warehouse").exists()


def test_global_options_are_accepted_between_a_group_and_its_command(sluice, runner, config_file, tmp_path):
    result = runner.invoke(cli, ["audit", "--config", str(config_file), "--data-dir", str(tmp_path / "d"), "verify"])
    assert result.exit_code == 0, result.output


def test_demo_seed_loads_the_requested_events_with_a_progress_bar(sluice, warehouse):
    result = sluice("demo", "seed", "--events", "2500", "--days", "7")
    assert result.exit_code == 0, result.output
    assert "2.50k/2.50k" in result.output
    assert warehouse.client.command("SELECT count() FROM events") == 2500


def test_unexpected_errors_are_one_line(runner, monkeypatch):
    monkeypatch.setattr("sluice.cli._common.load_config", lambda path: 1 / 0)
    result = runner.invoke(cli, ["migrate"])
    assert result.exit_code == 1
    assert result.output == "sluice: unexpected ZeroDivisionError: division by zero (set SLUICE_DEBUG=1 for details)\n"


def test_user_commands_manage_accounts(sluice, runner, config_file, tmp_path):
    def run(*args: str, input: str | None = None):
        return runner.invoke(cli, [*args, "--config", str(config_file), "--data-dir", str(tmp_path / "data")],
                             input=input)

    assert run("user", "add", "alice", "--role", "analyst", "--password-stdin",
               input="violet-Harbor-93-kite\n").output == "added alice (analyst)\n"
    prompted = run("user", "add", "bob", "--role", "marketer", input="amber-Glacier-27-fern\namber-Glacier-27-fern\n")
    assert prompted.exit_code == 0 and "amber" not in prompted.output
    weak = run("user", "add", "carol", "--role", "admin", "--password-stdin", input="password1234\n")
    assert weak.exit_code == 1 and "common or easy to guess" in weak.output
    assert run("user", "set-role", "alice", "compliance").exit_code == 0
    assert run("user", "disable", "bob").exit_code == 0
    assert run("user", "reset-password", "bob", "--password-stdin", input="sable-Orchid-58-moss\n").exit_code == 0
    listed = run("user", "list").output.splitlines()
    assert [line.split()[:3] for line in listed] == [["alice", "compliance", "active"], ["bob", "marketer", "active"]]
    assert run("user", "disable", "nobody").exit_code == 1


def test_the_forwarder_service_never_migrates_and_says_what_to_run(sluice, warehouse_settings):
    refused = sluice("forwarder")
    assert refused.exit_code == 1
    assert (f"the warehouse schema is at version 0 and this forwarder needs {MIGRATIONS[-1].version}: run "
            "`sluice migrate`") in refused.output
    assert sluice("migrate").exit_code == 0
    assert "nothing to forward" in sluice("forwarder").output  # past the schema check, to its own config
