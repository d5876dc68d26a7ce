import threading
import uuid
from datetime import UTC, datetime, timedelta
from ipaddress import IPv6Address

import msgspec

from tests.conftest import AUDIT_KEY
from warehouse import MIGRATIONS, Warehouse, open_warehouse
from warehouse.migrations import applied_versions

EVENT_COLUMNS = {
    "event_id", "client_event_id", "site", "name", "timestamp", "received_at", "url", "host", "path",
    "query_params", "referrer", "referrer_host", "utm_source", "utm_medium", "utm_campaign", "utm_term",
    "utm_content", "click_id_type", "click_id", "visitor_id", "session_id", "client_ip", "user_agent",
    "browser", "browser_version", "os", "os_version", "device_type", "is_bot", "consent_analytics",
    "consent_ads", "gpc", "dnt", "props",
}


def _tables(warehouse: Warehouse) -> set[str]:
    rows = warehouse.client.query("SELECT name FROM system.tables WHERE database = currentDatabase()").result_rows
    return {row[0] for row in rows}


def _insert_event(warehouse: Warehouse, *, timestamp: datetime, received_at: datetime, ip: str) -> None:
    warehouse.client.insert(
        "events",
        [[timestamp, received_at, "main", "pageview", ip]],
        column_names=["timestamp", "received_at", "site", "name", "client_ip"],
    )


def test_migrating_creates_every_table_and_records_each_version(warehouse):
    assert {"events", "consent", "audit_log", "schema_migrations", "visits", "daily_events"} <= _tables(warehouse)
    assert "sessions" not in _tables(warehouse)
    assert applied_versions(warehouse.client) == [m.version for m in MIGRATIONS]


def test_migrating_again_applies_nothing_and_keeps_data(warehouse):
    _insert_event(warehouse, timestamp=datetime.now(UTC), received_at=datetime.now(UTC), ip="192.0.2.1")
    assert warehouse.migrate("test") == []
    assert warehouse.migrate("test") == []
    assert warehouse.client.command("SELECT count() FROM events") == 1
    assert warehouse.client.command("SELECT count() FROM schema_migrations") == len(MIGRATIONS)


def test_each_migration_run_is_audited(warehouse):
    warehouse.migrate("ops:alice")
    entries = [e for e in warehouse.audit.entries() if e.action == "warehouse.migrate"]
    assert [e.actor for e in entries] == ["test", "ops:alice"]
    assert msgspec.json.decode(entries[0].detail) == {"applied": [m.version for m in MIGRATIONS]}


def _visits(warehouse: Warehouse) -> list[tuple]:
    return warehouse.client.query(
        "SELECT count(), sum(views) FROM (SELECT sum(pageviews) AS views FROM visits GROUP BY session_id)").result_rows


def test_the_rollups_are_filled_from_events_stored_before_they_existed(warehouse):
    """A warehouse from before the rollups gets them filled when it is migrated."""
    for view, table in (("visits_view", "visits"), ("daily_events_view", "daily_events")):
        warehouse.client.command(f"DROP VIEW {view}")
        warehouse.client.command(f"DROP TABLE {table}")
    warehouse.client.command("DELETE FROM schema_migrations WHERE version IN (9, 10)")
    now = datetime.now(UTC)
    _insert_event(warehouse, timestamp=now, received_at=now, ip="192.0.2.1")
    _insert_event(warehouse, timestamp=now + timedelta(seconds=5), received_at=now, ip="192.0.2.1")
    assert [m.version for m in warehouse.migrate("test")] == [9, 10]
    assert _visits(warehouse) == [(1, 2)]
    assert warehouse.client.command("SELECT sum(events) FROM daily_events") == 2
    # A migration run again after a failure part way (the views not yet made) fills nothing twice.
    for view in ("visits_view", "daily_events_view"):
        warehouse.client.command(f"DROP VIEW {view}")
    warehouse.client.command("DELETE FROM schema_migrations WHERE version IN (9, 10)")
    assert [m.version for m in warehouse.migrate("test")] == [9, 10]
    assert _visits(warehouse) == [(1, 2)]
    assert warehouse.client.command("SELECT count() FROM visits") == 1
    assert warehouse.client.command("SELECT sum(events) FROM daily_events") == 2


def _daily_names(warehouse: Warehouse) -> list[tuple]:
    return warehouse.client.query("SELECT day, name, sum(events), uniqCombinedMerge(12)(visitors) FROM daily_names "
                                  "GROUP BY day, name ORDER BY day, name").result_rows


def test_daily_names_are_filled_from_the_daily_events_stored_before_them(warehouse):
    """An install from before migration 16 gets its daily figures per name from `daily_events`, once."""
    now = datetime.now(UTC)
    visitor = uuid.uuid4()
    for name, seconds in (("pageview", 0), ("pageview", 5), ("appointment_request", 9)):
        warehouse.client.insert("events", [[now + timedelta(seconds=seconds), now, "main", name, visitor, uuid.uuid4()]],
                                column_names=["timestamp", "received_at", "site", "name", "visitor_id", "session_id"])
    expected = [(now.date(), "appointment_request", 1, 1), (now.date(), "pageview", 2, 1)]
    assert _daily_names(warehouse) == expected
    # As before migration 16, then as after a failure part way (the table filled, its view not yet made).
    for dropped in (["daily_names_view", "daily_names"], ["daily_names_view"]):
        for name in dropped:
            warehouse.client.command(f"DROP TABLE {name}")
        warehouse.client.command("DELETE FROM schema_migrations WHERE version = 16")
        assert [m.version for m in warehouse.migrate("test")] == [16]
        assert _daily_names(warehouse) == expected
    warehouse.client.insert("events", [[now, now, "main", "pageview", visitor, uuid.uuid4()]],
                            column_names=["timestamp", "received_at", "site", "name", "visitor_id", "session_id"])
    assert _daily_names(warehouse)[1] == (now.date(), "pageview", 3, 1), "the view feeds it after the migration"


def test_two_migrations_at_once_take_turns_and_record_each_version_once(warehouse_settings):
    """The second run waits for the first one's lease, then finds nothing left to apply."""
    barrier = threading.Barrier(2)
    results: list[list[int]] = []

    def run() -> None:
        opened = open_warehouse(warehouse_settings, audit_key=AUDIT_KEY)
        barrier.wait()
        results.append([m.version for m in opened.migrate("test")])

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == [[], [m.version for m in MIGRATIONS]]
    checker = open_warehouse(warehouse_settings, audit_key=AUDIT_KEY)
    assert checker.client.query(
        "SELECT version, count() FROM schema_migrations GROUP BY version ORDER BY version").result_rows == [
        (m.version, 1) for m in MIGRATIONS]
    assert {"visits", "daily_events", "outbox"} <= _tables(checker)
    checker.client.command(f"DROP DATABASE `{checker.dsn.database}`")


def test_events_table_has_the_columns_reports_need(warehouse):
    rows = warehouse.client.query(
        "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = 'events'"
    ).result_rows
    assert {row[0] for row in rows} == EVENT_COLUMNS


def test_events_are_partitioned_by_month_and_ordered_for_site_time_scans(warehouse):
    partition_key, sorting_key = warehouse.client.query(
        "SELECT partition_key, sorting_key FROM system.tables WHERE database = currentDatabase() AND name = 'events'"
    ).result_rows[0]
    assert partition_key == "toYYYYMM(timestamp)"
    assert sorting_key.startswith("site, toDate(timestamp)")


def test_client_ip_is_cleared_after_the_configured_days(warehouse):
    now = datetime.now(UTC)
    _insert_event(warehouse, timestamp=now, received_at=now - timedelta(days=31), ip="192.0.2.7")
    _insert_event(warehouse, timestamp=now, received_at=now - timedelta(days=29), ip="192.0.2.8")
    warehouse.client.command("OPTIMIZE TABLE events FINAL")
    ips = sorted(str(row[0]) for row in warehouse.client.query("SELECT client_ip FROM events").result_rows)
    assert ips == ["::", str(IPv6Address("::ffff:192.0.2.8"))]


def test_events_older_than_retention_are_deleted(warehouse):
    now = datetime.now(UTC)
    _insert_event(warehouse, timestamp=now - timedelta(days=26 * 31), received_at=now, ip="192.0.2.1")
    _insert_event(warehouse, timestamp=now - timedelta(days=24 * 30), received_at=now, ip="192.0.2.2")
    warehouse.client.command("OPTIMIZE TABLE events FINAL")
    assert warehouse.client.command("SELECT count() FROM events") == 1


def test_changing_retention_settings_alters_the_ttls_in_place(warehouse, warehouse_settings):
    now = datetime.now(UTC)
    _insert_event(warehouse, timestamp=now - timedelta(days=100), received_at=now - timedelta(days=10), ip="192.0.2.1")
    shorter = msgspec.structs.replace(warehouse_settings, retention_months=3, ip_retention_days=7)
    assert warehouse.client.command("SELECT count() FROM daily_events") == 1
    reopened = open_warehouse(shorter, migrate_as="test", audit_key=AUDIT_KEY)
    for table in ("events", "daily_events"):
        reopened.client.command(f"OPTIMIZE TABLE {table} FINAL")
        assert reopened.client.command(f"SELECT count() FROM {table}") == 0, table
    create = reopened.client.command("SHOW CREATE TABLE events")
    assert "toIntervalMonth(3)" in create and "toIntervalDay(7)" in create
    assert "toIntervalMonth(3)" in reopened.client.command("SHOW CREATE TABLE visits")
    reopened.close()
