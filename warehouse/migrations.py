"""Versioned schema migrations, recorded in `schema_migrations`, one run at a time per warehouse.

Each migration is frozen SQL text (`warehouse.migration_sql`), never today's table definitions, so every
install passes through the same statements whatever version it started from.
"""

import time
import uuid
from datetime import UTC, datetime
from string import Template

import msgspec
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from warehouse import migration_sql as sql
from warehouse.errors import MigrationError, first_line
from warehouse.leases import Leases
from warehouse.schema import EVENTS, ROLLUPS, Ddl

# A run renews its lease before each migration; a crashed one frees the warehouse when its lease expires.
_LEASE = "migrate"
_LEASE_SECONDS = 600.0
_WAIT_SECONDS = 2 * _LEASE_SECONDS
_POLL_SECONDS = 0.2


class Migration(msgspec.Struct, frozen=True):
    version: int
    name: str
    single: tuple[str, ...]
    cluster: tuple[str, ...]

    def statements(self, ddl: Ddl) -> list[str]:
        """This migration's statements for the database, cluster and retention of `ddl`."""
        return render(self.cluster if ddl.cluster else self.single, ddl)


def render(templates: tuple[str, ...], ddl: Ddl) -> list[str]:
    values = {"db": ddl.database, "cluster": ddl.cluster, "retention_months": ddl.retention_months,
              "ip_retention_days": ddl.ip_retention_days}
    return [Template(text).substitute(values) for text in templates]


# Append only: a released migration never changes, a new version follows it.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "events, consent and audit log", sql.V1_SINGLE, sql.V1_CLUSTER),
    Migration(2, "exactly-once inserts from the spool", sql.V2_SINGLE, sql.V2_CLUSTER),
    Migration(3, "user accounts", sql.V3_SINGLE, sql.V3_CLUSTER),
    Migration(4, "session and daily rollups", sql.V4_SINGLE, sql.V4_CLUSTER),
    Migration(5, "forwarder outbox", sql.V5_SINGLE, sql.V5_CLUSTER),
    Migration(6, "website tracker findings", sql.V6_SINGLE, sql.V6_CLUSTER),
    Migration(7, "an audit chain per writing service", sql.V7_SINGLE, sql.V7_CLUSTER),
    Migration(8, "exactly-once inserts into the outbox and tracker tables", sql.V8_SINGLE, sql.V8_CLUSTER),
    Migration(9, "daily events with uniqCombined(12) visitor states", sql.V9_SINGLE, sql.V9_CLUSTER),
    Migration(10, "visits kept by ClickHouse from events, in place of sessions", sql.V10_SINGLE, sql.V10_CLUSTER),
    Migration(11, "audit links inserted exactly once", sql.V11_SINGLE, sql.V11_CLUSTER),
    Migration(12, "report cells of closed days", sql.V12_SINGLE, sql.V12_CLUSTER),
    Migration(13, "annotations and saved views", sql.V13_SINGLE, sql.V13_CLUSTER),
    Migration(14, "goals, and engagement measured apart from conversions", sql.V14_SINGLE, sql.V14_CLUSTER),
    Migration(15, "goal figures in the cells of closed days", sql.V15_SINGLE, sql.V15_CLUSTER),
    Migration(16, "daily figures per event name, apart from pages", sql.V16_SINGLE, sql.V16_CLUSTER),
)


def migrate(client: Client, ddl: Ddl) -> list[Migration]:
    """Apply every migration not yet recorded, then reconcile retention; return what was applied.

    A second run on the same warehouse meanwhile waits for the first, then finds nothing left to do.
    """
    _run(client, render(sql.BOOTSTRAP_CLUSTER if ddl.cluster else sql.BOOTSTRAP_SINGLE, ddl), "migrations table")
    client.database = ddl.database
    leases, owner = Leases(client), uuid.uuid4().hex
    _wait_for_lease(leases, owner)
    try:
        applied = []
        done = set(applied_versions(client))
        for migration in MIGRATIONS:
            if migration.version in done:
                continue
            if not leases.renew(_LEASE, owner, _LEASE_SECONDS):
                raise MigrationError(f"migration {migration.version}: this run's lease lapsed; run it again")
            _run(client, migration.statements(ddl), f"migration {migration.version} ({migration.name})")
            client.insert(
                "schema_migrations",
                [[migration.version, migration.name, datetime.now(UTC)]],
                column_names=["version", "name", "applied_at"],
            )
            applied.append(migration)
        _reconcile_retention(client, ddl)
        return applied
    finally:
        leases.release(_LEASE, owner)


def applied_versions(client: Client) -> list[int]:
    rows = client.query("SELECT DISTINCT version FROM schema_migrations ORDER BY version").result_rows
    return [row[0] for row in rows]


def _wait_for_lease(leases: Leases, owner: str) -> None:
    deadline = time.monotonic() + _WAIT_SECONDS
    while not leases.acquire(_LEASE, owner, _LEASE_SECONDS):
        if time.monotonic() > deadline:
            raise MigrationError(f"another migration has held the warehouse for over {_WAIT_SECONDS:.0f} s")
        time.sleep(_POLL_SECONDS)


def _reconcile_retention(client: Client, ddl: Ddl) -> None:
    """Retention lives in the schema as TTLs; a changed setting alters them in place."""
    for table in (EVENTS, *ROLLUPS):
        stored = client.query(
            "SELECT create_table_query FROM system.tables WHERE database = {db:String} AND name = {name:String}",
            parameters={"db": ddl.database, "name": ddl.storage_name(table)},
        ).result_rows[0][0]
        if not all(marker in stored for marker in ddl.retention_markers(table)):
            _run(client, ddl.retention(), "retention change")
            return


def _run(client: Client, statements: list[str], what: str) -> None:
    for statement in statements:
        try:
            client.command(statement)
        except ClickHouseError as exc:
            raise MigrationError(f"{what} failed: {first_line(exc)}") from exc
