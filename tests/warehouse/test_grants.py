"""The service users of a server deployment: what each may do to the audit log, and the SQL that makes them."""

import re
from pathlib import Path

import pytest

from warehouse import MIGRATIONS, WarehouseSettings
from warehouse.client import username
from warehouse.schema import Ddl
from warehouse.grants import AUDIT_LOG, FORWARDER, SERVE, USERS, grant_sql

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize("user", USERS, ids=lambda user: user.name)
@pytest.mark.parametrize("privilege", ["ALTER UPDATE", "ALTER DELETE", "ALTER DROP COLUMN", "ALTER MODIFY COLUMN",
                                       "ALTER TTL", "TRUNCATE", "DROP TABLE", "OPTIMIZE"])
def test_no_service_user_may_alter_empty_or_drop_the_audit_log(user, privilege):
    assert user.may("SELECT", AUDIT_LOG) and user.may("INSERT", AUDIT_LOG)
    assert not user.may(privilege, AUDIT_LOG)


def test_serve_may_change_the_schema_of_every_other_table():
    assert all(SERVE.may(privilege, "events") for privilege in ("CREATE TABLE", "ALTER", "DROP TABLE", "INSERT"))


def test_the_forwarder_only_reads_and_appends():
    assert FORWARDER.may("SELECT", "events") and FORWARDER.may("INSERT", "outbox")
    assert not FORWARDER.may("INSERT", "events") and not FORWARDER.may("SELECT", "users")
    assert not any(FORWARDER.may(p, t) for p in ("ALTER", "ALTER DELETE", "TRUNCATE", "DROP TABLE", "CREATE TABLE")
                   for t in ("events", "outbox", "consent"))


def test_the_sql_creates_each_user_and_takes_the_audit_log_back_from_serve():
    sql = grant_sql("sluice").splitlines()
    assert "CREATE USER IF NOT EXISTS sluice_forwarder IDENTIFIED WITH sha256_password BY '<password of " \
           "sluice_forwarder>';" in sql
    assert 'GRANT SELECT ON "sluice"."events" TO sluice_forwarder;' in sql
    revoke = next(line for line in sql if line.startswith("REVOKE "))
    assert revoke.startswith("REVOKE ALTER UPDATE, ALTER DELETE, ") and revoke.endswith(' ON "sluice"."audit_log" FROM sluice;')
    assert not [line for line in sql if "sluice_forwarder" in line and ("ALTER" in line or ' ON "sluice".* ' in line)]


def test_on_a_cluster_the_tables_behind_the_distributed_ones_are_granted_and_revoked_too():
    sql = grant_sql("sluice", cluster="main").splitlines()
    assert any(line.startswith('REVOKE ON CLUSTER "main" ALTER UPDATE, ') and '"sluice"."audit_log_local" FROM' in line
               for line in sql)
    assert 'GRANT ON CLUSTER "main" SELECT ON "sluice"."events_local" TO sluice_forwarder;' in sql


def test_the_compose_warehouse_creates_the_users_exactly_as_sluice_grants_prints_them():
    script = (ROOT / "deploy" / "clickhouse-initdb" / "users.sh").read_text()
    sql = grant_sql("sluice", passwords={SERVE.name: "${SLUICE_SERVE_PASSWORD}",
                                         FORWARDER.name: "${SLUICE_FORWARDER_PASSWORD}"})
    assert f"<<SQL\n{sql}SQL\n" in script


def test_services_sharing_one_config_file_connect_as_the_user_their_environment_names():
    shared = WarehouseSettings(dsn="http://sluice@clickhouse:8123/sluice", user_env="SLUICE_WAREHOUSE_USER")
    assert username(shared, env={"SLUICE_WAREHOUSE_USER": FORWARDER.name}) == "sluice_forwarder"
    assert username(shared, env={}) == username(shared, env={"SLUICE_WAREHOUSE_USER": ""}) == "sluice"
    assert username(WarehouseSettings(dsn="http://clickhouse:8123/sluice"), env={}) == "default"


def test_serve_may_run_every_migration_that_touches_the_audit_log():
    ddl = Ddl(database="sluice", cluster="", retention_months=25, ip_retention_days=30)
    kinds = {"CREATE TABLE": "CREATE TABLE", "ADD COLUMN": "ALTER ADD COLUMN", "MODIFY SETTING": "ALTER SETTINGS"}
    touching = [s for m in MIGRATIONS for s in m.statements(ddl) if re.search(r"`audit_log`", s)]
    assert len(touching) >= 3
    for statement in touching:
        privilege = next((p for marker, p in kinds.items() if marker in statement), None)
        assert privilege and SERVE.may(privilege, AUDIT_LOG), statement
