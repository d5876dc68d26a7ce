"""Versioned, idempotent schema migrations, recorded in `schema_migrations`."""

from collections.abc import Callable
from datetime import UTC, datetime

import msgspec
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from warehouse.errors import MigrationError, first_line
from warehouse.schema import (
    AUDIT_LOG, CONSENT, DAILY_EVENTS, DAILY_EVENTS_VIEW, EVENTS, OUTBOX, SCHEMA_MIGRATIONS, SESSIONS, TRACKER_ALERTS,
    TRACKER_FINDINGS, TRACKER_SCANS, USERS, ROLLUPS, Ddl, Table,
)
from warehouse.sessions import BACKFILL


class Migration(msgspec.Struct, frozen=True):
    version: int
    name: str
    statements: Callable[[Ddl], list[str]]


def _initial(ddl: Ddl) -> list[str]:
    return [*ddl.create(EVENTS), *ddl.create(CONSENT), *ddl.create(AUDIT_LOG)]


def _deduplicated_inserts(ddl: Ddl, *tables: Table) -> list[str]:
    # Spool segments are re-inserted after a crash with the same token; the window makes that a no-op.
    # (Replicated tables deduplicate by themselves.)
    setting = "MODIFY SETTING non_replicated_deduplication_window = 10000"
    return [] if ddl.cluster else [ddl.alter(table, setting) for table in tables]


def _rollups(ddl: Ddl) -> list[str]:
    """Sessions and daily page counts for fast reports, filled from the events stored so far."""
    return [
        *ddl.create(SESSIONS), *_deduplicated_inserts(ddl, SESSIONS), *ddl.create(DAILY_EVENTS),
        _backfill(ddl, SESSIONS, BACKFILL), _backfill(ddl, DAILY_EVENTS, DAILY_EVENTS_VIEW),
        ddl.create_view("daily_events_view", DAILY_EVENTS, EVENTS, DAILY_EVENTS_VIEW),
    ]


def _backfill(ddl: Ddl, rollup: Table, select: str) -> str:
    """Fill a rollup from the stored events, once: a rerun after a failure finds it filled and adds nothing."""
    table = f"`{ddl.database}`.`{rollup.name}`"
    source = select.format(events=f"`{ddl.database}`.`events`")
    return f"INSERT INTO {table} SELECT * FROM ({source}) WHERE (SELECT count() FROM {table}) = 0"


# Append only: a released migration never changes, a new version follows it.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "events, consent and audit log", _initial),
    Migration(2, "exactly-once inserts from the spool", lambda ddl: _deduplicated_inserts(ddl, EVENTS, CONSENT)),
    Migration(3, "user accounts", lambda ddl: ddl.create(USERS)),
    Migration(4, "session and daily rollups", _rollups),
    Migration(5, "forwarder outbox", lambda ddl: [*ddl.create(OUTBOX), *_deduplicated_inserts(ddl, OUTBOX)]),
    Migration(6, "website tracker findings", lambda ddl: [
        *ddl.create(TRACKER_SCANS), *ddl.create(TRACKER_FINDINGS), *ddl.create(TRACKER_ALERTS),
        *_deduplicated_inserts(ddl, TRACKER_SCANS, TRACKER_FINDINGS)]),
    Migration(7, "an audit chain per writing service",
              lambda ddl: [ddl.alter(AUDIT_LOG, "ADD COLUMN IF NOT EXISTS chain LowCardinality(String) DEFAULT 'main'")]),
)


def migrate(client: Client, ddl: Ddl) -> list[Migration]:
    """Apply every migration not yet recorded, then reconcile retention; return what was applied."""
    _run(client, [ddl.create_database(), *ddl.create(SCHEMA_MIGRATIONS)], "migrations table")
    client.database = ddl.database
    done = set(applied_versions(client))
    applied = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        _run(client, migration.statements(ddl), f"migration {migration.version} ({migration.name})")
        client.insert(
            "schema_migrations",
            [[migration.version, migration.name, datetime.now(UTC)]],
            column_names=["version", "name", "applied_at"],
        )
        applied.append(migration)
    _reconcile_retention(client, ddl)
    return applied


def applied_versions(client: Client) -> list[int]:
    rows = client.query("SELECT DISTINCT version FROM schema_migrations ORDER BY version").result_rows
    return [row[0] for row in rows]


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
