"""compose.yaml can't run here (no container engine), so it is parsed and checked."""

import re
from pathlib import Path

import pytest
import yaml

from sluice.config import load_config
from warehouse import parse_dsn
from warehouse.grants import FORWARDER, SERVE

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_it_runs_clickhouse_sluice_and_the_forwarder(compose):
    assert set(compose["services"]) == {"clickhouse", "sluice", "forwarder"}
    assert compose["services"]["forwarder"]["command"] == ["forwarder"]


def test_only_the_forwarder_has_a_way_out(compose):
    networks = {name: set(service["networks"]) for name, service in compose["services"].items()}
    assert compose["networks"]["warehouse"]["internal"] is True
    assert networks["clickhouse"] == {"warehouse"}
    assert [name for name, joined in networks.items() if "egress" in joined] == ["forwarder"]


def test_the_forwarder_has_a_policy_to_run(compose):
    config = load_config(ROOT / "deploy" / "sluice.toml")
    assert config.forwarder.signals and config.forwarder.destinations and not config.forwarder.enabled


def test_clickhouse_is_pinned_to_a_release(compose):
    image = compose["services"]["clickhouse"]["image"]
    assert re.fullmatch(r"clickhouse/clickhouse-server:\d+\.\d+\.\d+\.\d+", image), image


def test_clickhouse_keeps_its_data_in_a_named_volume(compose):
    volumes = compose["services"]["clickhouse"]["volumes"]
    named = [v.split(":")[0] for v in volumes if v.endswith(":/var/lib/clickhouse")]
    assert named and named[0] in compose["volumes"]


def test_both_services_have_healthchecks_and_sluice_waits_for_clickhouse(compose):
    services = compose["services"]
    assert "/ping" in " ".join(services["clickhouse"]["healthcheck"]["test"])
    assert "/healthz" in " ".join(services["sluice"]["healthcheck"]["test"])
    assert services["sluice"]["depends_on"]["clickhouse"]["condition"] == "service_healthy"


def test_each_sluice_service_keeps_one_instance_name_across_re_creations(compose):
    names = [compose["services"][name].get("hostname") for name in ("sluice", "forwarder")]
    assert all(names) and len(set(names)) == 2


def test_the_image_holds_every_package_the_project_installs():
    import tomllib

    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (ROOT / "Dockerfile").read_text(), re.MULTILINE))
    assert {package.split(".")[0] for package in packages} == copied


def test_sluice_is_built_from_the_repository_dockerfile(compose):
    assert compose["services"]["sluice"]["build"] == "."
    assert (ROOT / "Dockerfile").read_text().startswith("FROM python:")


def test_passwords_come_from_the_environment_only(compose):
    for service in compose["services"].values():
        for name, value in service.get("environment", {}).items():
            if "PASSWORD" in name:
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", value), f"{name} must come from the environment"
    text = (ROOT / "compose.yaml").read_text() + (ROOT / "deploy" / "sluice.toml").read_text()
    assert not re.search(r"https?://[^/\s:@]+:[^@\s]+@", text), "a credential is written in a URL"


def test_the_sluice_service_config_is_valid_and_uses_the_server(compose):
    config = load_config(ROOT / "deploy" / "sluice.toml")
    dsn = parse_dsn(config.warehouse.dsn)
    assert (dsn.embedded, dsn.host) == (False, "clickhouse")
    env = compose["services"]["sluice"]["environment"]
    assert config.warehouse.password_env in env
    assert env["SLUICE_CONFIG"] == "/etc/sluice/sluice.toml"
    mounts = compose["services"]["sluice"]["volumes"]
    assert "./deploy/sluice.toml:/etc/sluice/sluice.toml:ro" in mounts


def test_the_internal_listener_is_published_on_loopback_only(compose):
    ports = compose["services"]["sluice"]["ports"]
    assert "127.0.0.1:8401:8401" in ports
    assert not any(p.endswith(":8401") and not p.startswith("127.0.0.1:") for p in ports)


def test_each_service_connects_as_a_warehouse_user_of_its_own_made_by_the_init_script(compose):
    services = compose["services"]
    users = {name: services[name]["environment"]["SLUICE_WAREHOUSE_USER"] for name in ("sluice", "forwarder")}
    assert users == {"sluice": SERVE.name, "forwarder": FORWARDER.name}
    assert load_config(ROOT / "deploy" / "sluice.toml").warehouse.user_env == "SLUICE_WAREHOUSE_USER"
    assert services["clickhouse"]["environment"]["CLICKHOUSE_USER"] not in users.values()
    assert "./deploy/clickhouse-initdb:/docker-entrypoint-initdb.d:ro" in services["clickhouse"]["volumes"]
    passwords = {name: services[name]["environment"]["SLUICE_WAREHOUSE_PASSWORD"] for name in users}
    assert len(set(passwords.values())) == 2


def test_both_services_sign_with_one_audit_key_and_anchor_in_one_shared_file(compose):
    services = compose["services"]
    assert {services[name]["environment"]["SLUICE_AUDIT_KEY"] for name in ("sluice", "forwarder")} == {
        "${SLUICE_AUDIT_KEY:?set SLUICE_AUDIT_KEY (openssl rand -base64 32)}"}
    anchors = load_config(ROOT / "deploy" / "sluice.toml").audit.anchors
    for name in ("sluice", "forwarder"):
        mounts = [v.split(":") for v in services[name]["volumes"]]
        assert any(volume in compose["volumes"] and anchors.startswith(path + "/") for volume, path, *_ in mounts)
