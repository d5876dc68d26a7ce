"""Upgrades: a warehouse made by any earlier release, migrated to the head, is the same as a fresh one and keeps
its data; and a released migration's SQL never changes."""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import warehouse as warehouse_package
from tests.conftest import AUDIT_KEY
from tests.warehouse.installs import INSTALLS, LATEST
from warehouse import MIGRATIONS, WarehouseSettings, migration_sql, open_warehouse, reports
from warehouse.conversions import SignalSpec, window_cells, window_identifiers
from warehouse.migrations import render
from warehouse.reports import ReportQuery
from warehouse.schema import TABLES, VIEWS, Ddl

HEAD = MIGRATIONS[-1].version
DAY = datetime.now(UTC).date() - timedelta(days=3)
NOON = datetime(DAY.year, DAY.month, DAY.day, 12, tzinfo=UTC)
# Released builds minted random (version 4) visit ids.
GOOGLE_VISIT, DIRECT_VISIT = uuid.UUID(int=1001, version=4), uuid.UUID(int=1002, version=4)
VISITOR = uuid.UUID(int=7, version=4)

# (how the install was made, the last version it had, the SQL it ran where that differs from the frozen one)
INSTALLED = [(f"release {n}", n, {}) for n in range(1, HEAD)] + [
    (f"build {build}", LATEST[build], changed) for build, changed in INSTALLS.items()]


def _settings(engine_path: Path, database: str) -> WarehouseSettings:
    return WarehouseSettings(dsn=f"chdb://{engine_path}?database={database}")


def _install(engine_path: Path, latest: int, changed: dict[int, tuple[str, ...]]):
    """A database as an earlier build left it: its migrations up to `latest`, each recorded."""
    database = f"up_{uuid.uuid4().hex[:10]}"
    opened = open_warehouse(_settings(engine_path, database), audit_key=AUDIT_KEY)
    ddl = Ddl(database=database)
    client = opened.client
    for statement in render(migration_sql.BOOTSTRAP_SINGLE[:2], ddl):  # released builds had no leases table
        client.command(statement)
    client.database = database
    for migration in MIGRATIONS[:latest]:
        for statement in render(changed.get(migration.version, migration.single), ddl):
            client.command(statement)
        client.insert("schema_migrations", [[migration.version, migration.name, datetime.now(UTC)]],
                      column_names=["version", "name", "applied_at"])
    return opened


def _event(visit: uuid.UUID, name: str, seconds: int, path: str, **fields) -> dict:
    return {"event_id": uuid.uuid4(), "site": "main", "name": name, "timestamp": NOON + timedelta(seconds=seconds),
            "received_at": NOON + timedelta(seconds=seconds), "path": path, "visitor_id": VISITOR,
            "session_id": visit, "device_type": "desktop", "browser": "Firefox", "os": "Linux",
            "consent_analytics": True, "consent_ads": True, "client_ip": "192.0.2.1", "utm_source": "",
            "utm_medium": "", "utm_campaign": "", **fields}


EVENTS = [
    _event(GOOGLE_VISIT, "pageview", 0, "/services/cardiology", utm_source="google", utm_medium="cpc",
           utm_campaign="heart"),
    _event(GOOGLE_VISIT, "pageview", 60, "/find-a-doctor"),
    _event(GOOGLE_VISIT, "appointment_request", 90, "/find-a-doctor"),
    _event(DIRECT_VISIT, "pageview", 3600, "/"),
]


def _insert(client, table: str, rows: list[dict]) -> None:
    names = list(rows[0])
    client.insert(table, [[row[name] for name in names] for row in rows], column_names=names)


def _add_data(client, latest: int) -> dict[str, int]:
    """Rows valid for a warehouse at version `latest`; how many went into each table."""
    _insert(client, "events", EVENTS)
    _insert(client, "consent", [{"site": "main", "visitor_id": VISITOR, "recorded_at": NOON, "analytics": True,
                                 "ads": True, "policy_version": "1", "source": "banner"}])
    _insert(client, "audit_log", [{"seq": 1, "time": NOON, "actor": "ops", "action": "warehouse.migrate",
                                   "resource": "warehouse", "outcome": "ok", "detail": "{}", "prev_hash": "",
                                   "hash": "h"}])
    counts = {"events": len(EVENTS), "consent": 1}
    if latest >= 3:
        _insert(client, "users", [{"username": "alice", "role": "admin", "password_hash": "x", "disabled": False,
                                   "changed_at": NOON, "changed_by": "ops"}])
        counts["users"] = 1
    if latest >= 5:
        _insert(client, "outbox", [{"key": "k", "destination": "meta", "signal": "appt", "window_start": NOON,
                                    "window_end": NOON, "state": "sent", "recorded_at": NOON}])
        counts["outbox"] = 1
    if latest >= 6:
        _insert(client, "tracker_scans", [{"scan_id": "s", "site": "main", "mode": "static", "started_at": NOON,
                                           "finished_at": NOON, "pages": 3}])
        _insert(client, "tracker_findings", [{"scan_id": "s", "site": "main", "page": "/", "host": "t.example",
                                              "vendor": "x", "kind": "script", "source": "scan", "seen_at": NOON}])
        _insert(client, "tracker_alerts", [{"site": "main", "host": "t.example", "vendor": "x", "alerted_at": NOON}])
        counts |= {"tracker_scans": 1, "tracker_findings": 1, "tracker_alerts": 1}
    return counts


def _normalised(create: str, database: str) -> str:
    """A stored CREATE query without the database name, its settings in one order."""
    create = create.replace(f"{database}.", "")
    body, _, settings = create.partition(" SETTINGS ")
    return body + (" SETTINGS " + ", ".join(sorted(settings.split(", "))) if settings else "")


def _schema(client, database: str) -> tuple[list, list]:
    columns = client.query(
        "SELECT table, name, type, position, default_kind, default_expression, compression_codec "
        "FROM system.columns WHERE database = {db:String} ORDER BY table, position", parameters={"db": database})
    tables = client.query(
        "SELECT name, engine, partition_key, sorting_key, primary_key, create_table_query FROM system.tables "
        "WHERE database = {db:String} ORDER BY name", parameters={"db": database})
    return columns.result_rows, [(*row[:5], _normalised(row[5], database)) for row in tables.result_rows]


@pytest.fixture(scope="module")
def fresh(engine_path):
    opened = open_warehouse(_settings(engine_path, f"fresh_{uuid.uuid4().hex[:10]}"), migrate_as="test", audit_key=AUDIT_KEY)
    yield _schema(opened.client, opened.dsn.database)
    opened.client.command(f"DROP DATABASE `{opened.dsn.database}`")
    opened.close()


def test_the_schema_module_describes_what_the_migrations_make(engine_path, fresh):
    database = f"described_{uuid.uuid4().hex[:10]}"
    opened = open_warehouse(_settings(engine_path, database), audit_key=AUDIT_KEY)
    ddl = Ddl(database=database)
    try:
        for statement in [ddl.create_database(), *(s for table in TABLES for s in ddl.create(table))]:
            opened.client.command(statement)
        for name, source, target, select in VIEWS:
            opened.client.command(ddl.create_view(name, target, source, select))
        assert _schema(opened.client, database) == fresh
    finally:
        opened.client.command(f"DROP DATABASE IF EXISTS `{database}`")
        opened.close()


@pytest.mark.parametrize(("made_by", "latest", "changed"), INSTALLED, ids=[i[0] for i in INSTALLED])
def test_an_upgraded_warehouse_is_a_fresh_one_with_its_data_kept(engine_path, fresh, made_by, latest, changed):
    old = _install(engine_path, latest, changed)
    counts = _add_data(old.client, latest)
    try:
        upgraded = open_warehouse(_settings(engine_path, old.dsn.database), migrate_as="test", audit_key=AUDIT_KEY)
        assert _schema(upgraded.client, old.dsn.database) == fresh
        for table, count in counts.items():
            assert upgraded.client.command(f"SELECT count() FROM {table}") == count, table
        _assert_every_report_answers(upgraded.client)
        upgraded.close()
    finally:
        old.client.command(f"DROP DATABASE `{old.dsn.database}`")
        old.close()


def _assert_every_report_answers(client) -> None:
    query = ReportQuery(site="main", start=DAY, end=DAY)
    overview = reports.overview(client, query)
    assert (overview.visitors, overview.sessions, overview.pageviews, overview.conversions) == (1, 2, 3, 1)
    assert overview.bounce_rate == 0.5 and overview.session_seconds == 45
    assert reports.timeseries(client, query) == [{"day": DAY, "visitors": 1, "pageviews": 3, "conversions": 1}]
    assert {(r["source"], r["sessions"]) for r in reports.sources(client, query)} == {("google", 1), ("(direct)", 1)}
    assert reports.campaigns(client, query) == [
        {"campaign": "heart", "source": "google", "medium": "cpc", "sessions": 1, "conversions": 1}]
    assert {r["path"]: r["pageviews"] for r in reports.pages(client, query)} == {
        "/services/cardiology": 1, "/find-a-doctor": 1, "/": 1}
    assert {r["path"] for r in reports.entry_pages(client, query)} == {"/services/cardiology", "/"}
    assert reports.conversions(client, query) == [{"conversion": "appointment_request", "campaign": "heart",
                                                   "source": "google", "conversions": 1, "visitors": 1}]
    assert reports.devices(client, query) == [
        {"device_type": "desktop", "browser": "Firefox", "os": "Linux", "visitors": 1, "events": 4}]
    assert [s["sessions"] for s in reports.funnel(client, query, ["/services/cardiology", "appointment_request"])] == [1, 1]
    assert reports.masked_events(client, query, b"k" * 32, 0, 10)[1] == 4
    filtered = ReportQuery(site="main", start=DAY, end=DAY, filters={"utm_source": "google"})
    assert reports.overview(client, filtered).sessions == 1
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    cells = window_cells(client, start, start + timedelta(days=1),
                         [SignalSpec(name="appt", event="appointment_request", dimensions=("utm_campaign",))],
                         {}, {}, lookback_days=30, max_per_visitor=3)
    assert [(c.dimensions, c.visitors, c.conversions) for c in cells] == [({"utm_campaign": "heart"}, 1, 1)]
    assert str(GOOGLE_VISIT) in window_identifiers(client, start, start + timedelta(days=1),
                                                   ["appointment_request"], 30)


def _checksum(migration) -> str:
    return hashlib.sha256("\0".join((*migration.single, "\0", *migration.cluster)).encode()).hexdigest()


def test_a_released_migrations_sql_never_changes():
    lock = Path(warehouse_package.__file__).with_name("migrations.lock").read_text().splitlines()
    locked = dict(line.split() for line in lock if line and not line.startswith("#"))
    assert [int(version) for version in locked] == [m.version for m in MIGRATIONS], "every migration has a line"
    for migration in MIGRATIONS:
        assert _checksum(migration) == locked[str(migration.version)], (
            f"migration {migration.version} changed after its release: add a new migration instead")


def test_released_migrations_render_only_their_placeholders():
    ddl = Ddl(database="db", cluster="c", retention_months=7, ip_retention_days=3)
    for migration in MIGRATIONS:
        for statement in [*migration.statements(ddl), *migration.statements(Ddl(database="db"))]:
            assert "${" not in statement
