"""The current shape of every table, and DDL for their retention on one node or across a cluster.

Migrations never read these definitions (they carry their own frozen SQL); a test checks that a warehouse
made from these is the same as one the migrations made. Identifiers in DDL come from validated settings.
"""

from datetime import UTC, datetime

import msgspec

from warehouse.events import CONVERSION, ENGAGED_MS, SCROLL

TIMES = "between 2000 and 2200"
"""The times a time column takes, as an error message says it: none is older, none far in the future."""
_EARLIEST, _LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


def storable(moment: datetime) -> bool:
    """Whether `moment` (a naive one read as UTC) is a time a time column takes (`TIMES`)."""
    return _EARLIEST <= moment.replace(tzinfo=moment.tzinfo or UTC) < _LATEST


# A table without a shard key is small metadata: in a cluster every node holds a full replica.
_ALL_NODES = None


class Table(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    columns: str
    order_by: str
    partition_by: str = ""
    ttl: str = ""
    engine: str = "MergeTree"
    """A MergeTree family engine, with its parameters after the name (`VersionedCollapsingMergeTree(sign, version)`)."""
    shard_key: str | None = _ALL_NODES
    deduplicated: bool = False
    """Inserts carry a token; on a single node a deduplication window makes a repeated one a no-op."""


EVENTS = Table(
    name="events",
    columns="""
    event_id          UUID,
    client_event_id   String CODEC(ZSTD(3)),
    site              LowCardinality(String),
    name              LowCardinality(String),
    timestamp         DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    received_at       DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    url               String CODEC(ZSTD(3)),
    host              LowCardinality(String),
    path              String CODEC(ZSTD(3)),
    query_params      Map(LowCardinality(String), String) CODEC(ZSTD(3)),
    referrer          String CODEC(ZSTD(3)),
    referrer_host     LowCardinality(String),
    utm_source        LowCardinality(String),
    utm_medium        LowCardinality(String),
    utm_campaign      LowCardinality(String),
    utm_term          String CODEC(ZSTD(3)),
    utm_content       LowCardinality(String),
    click_id_type     LowCardinality(String),
    click_id          String CODEC(ZSTD(3)),
    visitor_id        UUID,
    session_id        UUID,
    client_ip         IPv6 TTL toDateTime(received_at) + INTERVAL {ip_retention_days} DAY,
    user_agent        String CODEC(ZSTD(3)),
    browser           LowCardinality(String),
    browser_version   LowCardinality(String),
    os                LowCardinality(String),
    os_version        LowCardinality(String),
    device_type       LowCardinality(String),
    is_bot            Bool,
    consent_analytics Bool,
    consent_ads       Bool,
    gpc               Bool,
    dnt               Bool,
    props             Map(LowCardinality(String), String) CODEC(ZSTD(3))
    """,
    partition_by="toYYYYMM(timestamp)",
    order_by="(site, toDate(timestamp), name, visitor_id, timestamp)",
    ttl="toDateTime(timestamp) + INTERVAL {retention_months} MONTH DELETE",
    deduplicated=True,
    shard_key="cityHash64(visitor_id)",
)

CONSENT = Table(
    name="consent",
    columns="""
    site           LowCardinality(String),
    visitor_id     UUID,
    recorded_at    DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    analytics      Bool,
    ads            Bool,
    policy_version LowCardinality(String),
    source         LowCardinality(String)
    """,
    partition_by="toYYYYMM(recorded_at)",
    order_by="(site, visitor_id, recorded_at)",
    deduplicated=True,
    shard_key="cityHash64(visitor_id)",
)

# One row per visit once merged, written by a materialized view on `events` (see `warehouse.visits`). Its
# conversions are the events other than `warehouse.events.MEASUREMENTS`.
VISITS = Table(
    name="visits",
    columns="""
    site        LowCardinality(String),
    session_id  UUID,
    start       DateTime64(3, 'UTC'),
    visitor_id  SimpleAggregateFunction(min, UUID),
    started     SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    ended       SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    pageviews   SimpleAggregateFunction(sum, UInt64),
    events      SimpleAggregateFunction(sum, UInt64),
    conversions SimpleAggregateFunction(sum, UInt64),
    converted   SimpleAggregateFunction(sumMap, Map(String, UInt64)),
    first       SimpleAggregateFunction(min, String),
    entry       SimpleAggregateFunction(min, String),
    is_bot      SimpleAggregateFunction(max, Bool)
    """,
    engine="AggregatingMergeTree",
    partition_by="toYYYYMM(start)",
    order_by="(site, toDate(start), session_id)",
    ttl="toDateTime(start) + INTERVAL {retention_months} MONTH DELETE",
    deduplicated=True,
    shard_key="cityHash64(visitor_id)",
)
VISITS_VIEW = f"""
    SELECT site, session_id,
           if(bitAnd(bitShiftRight(toUInt128(session_id), 76), 15) = 7
              AND abs(dateDiff('hour', UUIDv7ToDateTime(session_id, 'UTC'), min(timestamp))) <= 24,
              UUIDv7ToDateTime(session_id, 'UTC'), min(timestamp)) AS start,
           min(visitor_id) AS visitor_id, min(timestamp) AS started, max(timestamp) AS ended,
           countIf(name = 'pageview') AS pageviews, count() AS events,
           countIf({CONVERSION}) AS conversions, sumMapIf(map(toString(name), toUInt64(1)), {CONVERSION}) AS converted,
           min(concat(leftPad(toString(toUnixTimestamp64Milli(timestamp)), 15, '0'), toString(event_id),
                      arrayStringConcat(arrayMap(value -> replaceAll(value, '\\0', ''), [
                          if(utm_source != '', utm_source, if(referrer_host != '', referrer_host, '(direct)')),
                          utm_source, utm_medium, utm_campaign, utm_content, device_type, browser, os]), '\\0')))
               AS first,
           min(concat(toString(name != 'pageview'), leftPad(toString(toUnixTimestamp64Milli(timestamp)), 15, '0'),
                      toString(event_id), if(name = 'pageview', path, ''))) AS entry,
           max(is_bot) AS is_bot
    FROM {{events}} WHERE session_id != toUUID('00000000-0000-0000-0000-000000000000') GROUP BY site, session_id"""

# Events per day, name and page with their visitors, kept by a materialized view on `events`.
DAILY_EVENTS = Table(
    name="daily_events",
    columns="""
    site       LowCardinality(String),
    day        Date,
    name       LowCardinality(String),
    path       String CODEC(ZSTD(3)),
    events     SimpleAggregateFunction(sum, UInt64),
    visitors   AggregateFunction(uniqCombined(12), UUID),
    engaged_ms SimpleAggregateFunction(sum, UInt64),
    scroll     SimpleAggregateFunction(sum, UInt64)
    """,
    engine="AggregatingMergeTree",
    partition_by="toYYYYMM(day)",
    order_by="(site, day, name, path)",
    ttl="day + INTERVAL {retention_months} MONTH DELETE",
    deduplicated=True,  # like `visits`: a replayed insert reaches the view again, each target drops it
    shard_key="rand()",
)
DAILY_EVENTS_VIEW = f"""
    SELECT site, toDate(timestamp) AS day, name, path, count() AS events,
           uniqCombinedStateIf(12)(visitor_id, visitor_id != toUUID('00000000-0000-0000-0000-000000000000')) AS visitors,
           sum({ENGAGED_MS}) AS engaged_ms, sum({SCROLL}) AS scroll
    FROM {{events}} GROUP BY site, day, name, path"""

# Events per day and name with their visitors: `daily_events` without its pages, kept by a view on `events`, so
# that daily and per-event figures merge one visitor state per name and day, not one per page.
DAILY_NAMES = Table(
    name="daily_names",
    columns="""
    site     LowCardinality(String),
    day      Date,
    name     LowCardinality(String),
    events   SimpleAggregateFunction(sum, UInt64),
    visitors AggregateFunction(uniqCombined(12), UUID)
    """,
    engine="AggregatingMergeTree",
    partition_by="toYYYYMM(day)",
    order_by="(site, day, name)",
    ttl="day + INTERVAL {retention_months} MONTH DELETE",
    deduplicated=True,
    shard_key="rand()",
)
DAILY_NAMES_VIEW = """
    SELECT site, toDate(timestamp) AS day, name, count() AS events,
           uniqCombinedStateIf(12)(visitor_id, visitor_id != toUUID('00000000-0000-0000-0000-000000000000')) AS visitors
    FROM {events} GROUP BY site, day, name"""

# Per day of visit starts, what its visits hold: their event count and a hash sum over them, kept by a view
# on `visits` with every insert, so that a report can tell in a few rows whether a day changed.
VISIT_DAYS = Table(
    name="visit_days",
    columns="""
    site        LowCardinality(String),
    day         Date,
    events      SimpleAggregateFunction(sum, UInt64),
    fingerprint SimpleAggregateFunction(sum, UInt64)
    """,
    engine="AggregatingMergeTree",
    partition_by="toYYYYMM(day)",
    order_by="(site, day)",
    ttl="day + INTERVAL {retention_months} MONTH DELETE",
    deduplicated=True,  # like `visits`: a replayed insert reaches the view again, each target drops it
    shard_key="rand()",
)
VISIT_DAYS_VIEW = """
    SELECT site, day, sum(visit_events) AS events, sum(visit_hash) AS fingerprint FROM (
        SELECT site, toDate(start) AS day, events AS visit_events, cityHash64(session_id) * events AS visit_hash
        FROM {visits}) GROUP BY site, day"""

# The visit reports' figures per closed day, computed from `visits` (see `warehouse.cells`): a day's cells of
# one generation are written first, then its row in `visit_cell_days`, so a reader sees whole generations only.
VISIT_CELLS = Table(
    name="visit_cells",
    columns="""
    site        LowCardinality(String),
    day         Date,
    generation  UInt64,
    report      LowCardinality(String),
    key         Array(String),
    visitors    AggregateFunction(uniqCombined(12), UUID),
    sessions    UInt64,
    pageviews   UInt64,
    bounces     UInt64,
    seconds     UInt64,
    conversions UInt64,
    converted   UInt64,
    events      UInt64,
    value       Float64
    """,
    partition_by="toYYYYMM(day)",
    order_by="(site, report, day, generation, key)",
    ttl="day + INTERVAL {retention_months} MONTH DELETE",
)
VISIT_CELL_DAYS = Table(
    name="visit_cell_days",
    columns="""
    site        LowCardinality(String),
    report      LowCardinality(String),
    day         Date,
    generation  UInt64,
    definition  String,
    events      UInt64,
    fingerprint UInt64,
    computed_at DateTime64(3, 'UTC')
    """,
    order_by="(site, report, day, generation)",
    ttl="day + INTERVAL {retention_months} MONTH DELETE",
)

ROLLUPS = (VISITS, DAILY_EVENTS, DAILY_NAMES, VISIT_DAYS, VISIT_CELLS, VISIT_CELL_DAYS)

# The forwarder's outbox: every state a cell goes through is a new row; the latest one holds.
OUTBOX = Table(
    name="outbox",
    columns="""
    key             String,
    destination     LowCardinality(String),
    signal          LowCardinality(String),
    window_start    DateTime('UTC'),
    window_end      DateTime('UTC'),
    cell            Map(LowCardinality(String), String),
    visitors        UInt32,
    conversions     UInt32,
    value           Float64,
    state           LowCardinality(String),
    reason          String,
    attempts        UInt16,
    next_attempt_at DateTime64(3, 'UTC'),
    policy          String,
    epsilon         Float64,
    recorded_at     DateTime64(6, 'UTC')
    """,
    partition_by="toYYYYMM(window_start)",
    order_by="(destination, window_start, key, recorded_at)",
    deduplicated=True,
)

# The website scanner: its runs, what each found (and CSP reports), and the alerts it sent.
TRACKER_SCANS = Table(
    name="tracker_scans",
    columns="""
    scan_id     String,
    site        LowCardinality(String),
    mode        LowCardinality(String),
    started_at  DateTime64(3, 'UTC'),
    finished_at DateTime64(3, 'UTC'),
    pages       UInt32
    """,
    order_by="(site, started_at)",
    deduplicated=True,
)
TRACKER_FINDINGS = Table(
    name="tracker_findings",
    columns="""
    scan_id  String,
    site     LowCardinality(String),
    page     String CODEC(ZSTD(3)),
    host     String,
    vendor   LowCardinality(String),
    kind     LowCardinality(String),
    source   LowCardinality(String),
    seen_at  DateTime64(3, 'UTC')
    """,
    partition_by="toYYYYMM(seen_at)",
    order_by="(site, host, page, seen_at)",
    deduplicated=True,
)
TRACKER_ALERTS = Table(
    name="tracker_alerts",
    columns="""
    site       LowCardinality(String),
    host       String,
    vendor     LowCardinality(String),
    alerted_at DateTime64(3, 'UTC')
    """,
    order_by="(site, host)",
)

AUDIT_LOG = Table(
    name="audit_log",
    columns="""
    seq       UInt64,
    time      DateTime64(6, 'UTC'),
    actor     String,
    action    LowCardinality(String),
    resource  String,
    outcome   LowCardinality(String),
    detail    String CODEC(ZSTD(3)),
    prev_hash String,
    hash      String,
    chain     LowCardinality(String) DEFAULT 'main'
    """,
    order_by="seq",
    deduplicated=True,  # a link's number is its insert's token: of two writers taking one number, one row stands
)

USERS = Table(
    name="users",
    columns="""
    username      String,
    role          LowCardinality(String),
    password_hash String,
    disabled      Bool,
    changed_at    DateTime64(6, 'UTC'),
    changed_by    String
    """,
    order_by="(username, changed_at)",
)

ANNOTATIONS = Table(
    name="annotations",
    columns="""
    annotation_id UUID,
    site          LowCardinality(String),
    day           Date,
    text          String,
    deleted       Bool,
    changed_at    DateTime64(6, 'UTC'),
    changed_by    String
    """,
    order_by="(site, annotation_id, changed_at)",
)

SAVED_VIEWS = Table(
    name="saved_views",
    columns="""
    username   String,
    name       String,
    view       String,
    deleted    Bool,
    changed_at DateTime64(6, 'UTC')
    """,
    order_by="(username, name, changed_at)",
)

# Named conversions an analyst defines: an event's name, or a page path pattern (`warehouse.goals`).
GOALS = Table(
    name="goals",
    columns="""
    goal_id    UUID,
    site       LowCardinality(String),
    name       String,
    kind       LowCardinality(String),
    pattern    String,
    value      Float64,
    deleted    Bool,
    changed_at DateTime64(6, 'UTC'),
    changed_by String
    """,
    order_by="(site, goal_id, changed_at)",
)

SCHEMA_MIGRATIONS = Table(
    name="schema_migrations",
    columns="""
    version    UInt32,
    name       String,
    applied_at DateTime64(3, 'UTC')
    """,
    order_by="version",
)

# Who holds each named task now (`warehouse.leases`): one row per term taken.
LEASES = Table(
    name="leases",
    columns="""
    name       LowCardinality(String),
    term       UInt64,
    owner      String,
    expires_at DateTime64(3, 'UTC'),
    taken_at   DateTime64(3, 'UTC')
    """,
    order_by="(name, term)",
    deduplicated=True,
)

# Every table and view of the current schema, as the migrations leave it.
TABLES = (EVENTS, CONSENT, AUDIT_LOG, USERS, VISITS, DAILY_EVENTS, DAILY_NAMES, VISIT_DAYS, VISIT_CELLS, VISIT_CELL_DAYS,
          OUTBOX, TRACKER_SCANS, TRACKER_FINDINGS, TRACKER_ALERTS, ANNOTATIONS, SAVED_VIEWS, GOALS, SCHEMA_MIGRATIONS, LEASES)
# Each materialized view: its name, the table whose inserts feed it, its target and its query.
VIEWS = (("visits_view", EVENTS, VISITS, VISITS_VIEW), ("daily_events_view", EVENTS, DAILY_EVENTS, DAILY_EVENTS_VIEW),
         ("daily_names_view", EVENTS, DAILY_NAMES, DAILY_NAMES_VIEW), ("visit_days_view", VISITS, VISIT_DAYS, VISIT_DAYS_VIEW))


class Ddl(msgspec.Struct, frozen=True, kw_only=True):
    """Renders DDL for one database, on a single node or `ON CLUSTER`."""

    database: str
    cluster: str = ""
    retention_months: int = 25
    ip_retention_days: int = 30

    def create_database(self) -> str:
        return f"CREATE DATABASE IF NOT EXISTS `{self.database}`{self._on_cluster}"

    def create(self, table: Table) -> list[str]:
        """Statements creating `table`: one on a single node, local + distributed on a sharded cluster."""
        body = self._format(table.columns)
        clauses = self._clauses(table)
        name = self.storage_name(table)
        statements = [
            f"CREATE TABLE IF NOT EXISTS `{self.database}`.`{name}`{self._on_cluster}\n({body})\n"
            f"ENGINE = {self._engine(table)}{clauses}"
        ]
        if self.cluster and table.shard_key is not _ALL_NODES:
            statements.append(
                f"CREATE TABLE IF NOT EXISTS `{self.database}`.`{table.name}`{self._on_cluster}\n"
                f"AS `{self.database}`.`{name}`\n"
                f"ENGINE = Distributed(`{self.cluster}`, `{self.database}`, `{name}`, {table.shard_key})"
            )
        return statements

    def create_view(self, name: str, target: Table, source: Table, select: str) -> str:
        """A materialized view feeding `target` from each insert into `source`, on every node's local tables."""
        query = select.format(**{source.name: f"`{self.database}`.`{self.storage_name(source)}`"})
        return (f"CREATE MATERIALIZED VIEW IF NOT EXISTS `{self.database}`.`{name}`{self._on_cluster}\n"
                f"TO `{self.database}`.`{self.storage_name(target)}` AS{query}")

    def storage_name(self, table: Table) -> str:
        """The table that holds the rows: `<name>_local` behind a Distributed table, else the name."""
        if self.cluster and table.shard_key is not _ALL_NODES:
            return f"{table.name}_local"
        return table.name

    def alter(self, table: Table, action: str) -> str:
        return f"ALTER TABLE `{self.database}`.`{self.storage_name(table)}`{self._on_cluster} {action}"

    def retention(self) -> list[str]:
        """ALTERs that bring every table's TTLs to the configured retention."""
        return [
            self.alter(EVENTS, f"MODIFY TTL {self._format(EVENTS.ttl)}"),
            self.alter(
                EVENTS,
                f"MODIFY COLUMN client_ip IPv6 TTL toDateTime(received_at) + INTERVAL {self.ip_retention_days} DAY",
            ),
            *(self.alter(rollup, f"MODIFY TTL {self._format(rollup.ttl)}") for rollup in ROLLUPS),
        ]

    def retention_markers(self, table: Table) -> tuple[str, ...]:
        """How ClickHouse spells the configured TTL intervals in the stored CREATE query of `table`."""
        months = f"toIntervalMonth({self.retention_months})"
        return (months, f"toIntervalDay({self.ip_retention_days})") if table is EVENTS else (months,)

    @property
    def _on_cluster(self) -> str:
        return f" ON CLUSTER `{self.cluster}`" if self.cluster else ""

    def _engine(self, table: Table) -> str:
        if not self.cluster:
            return table.engine
        name, _, parameters = table.engine.partition("(")
        shard = "{shard}/" if table.shard_key is not _ALL_NODES else ""
        replication = f"'/clickhouse/tables/{shard}{{database}}/{{table}}', '{{replica}}'"
        return f"Replicated{name}({replication}{', ' + parameters if parameters else ')'}"

    def _clauses(self, table: Table) -> str:
        parts = [
            f"PARTITION BY {table.partition_by}" if table.partition_by else "",
            f"ORDER BY {table.order_by}",
            f"TTL {self._format(table.ttl)}" if table.ttl else "",
            "SETTINGS non_replicated_deduplication_window = 10000" if table.deduplicated and not self.cluster else "",
        ]
        return "".join(f"\n{part}" for part in parts if part)

    def _format(self, text: str) -> str:
        return text.format(retention_months=self.retention_months, ip_retention_days=self.ip_retention_days)
