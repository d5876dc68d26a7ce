"""Table definitions and the DDL that creates them on one node or across a cluster.

Identifiers in DDL come from validated settings, never from user input.
"""

import msgspec

# A table without a shard key is small metadata: in a cluster every node holds a full replica.
_ALL_NODES = None


class Table(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    columns: str
    order_by: str
    partition_by: str = ""
    ttl: str = ""
    settings: str = ""
    engine: str = "MergeTree"
    """A MergeTree family engine, with its parameters after the name (`VersionedCollapsingMergeTree(sign, version)`)."""
    shard_key: str | None = _ALL_NODES


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
    shard_key="cityHash64(visitor_id)",
)

# One row per session, kept by the writer: a changed session is a cancelling row (sign -1) for its
# last state and a new row (sign +1) with a higher version, so reports sum `sign` and never group by session.
SESSIONS = Table(
    name="sessions",
    columns="""
    site        LowCardinality(String),
    day         Date,
    session_id  UUID,
    visitor_id  UUID,
    started     DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    ended       DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    seconds     UInt32 MATERIALIZED toUInt32(greatest(0, dateDiff('second', started, ended))),
    pageviews   UInt32,
    events      UInt32,
    conversions UInt32,
    converted   Map(LowCardinality(String), UInt32),
    source      LowCardinality(String),
    utm_source  LowCardinality(String),
    medium      LowCardinality(String),
    campaign    LowCardinality(String),
    content     LowCardinality(String),
    entry_path  LowCardinality(String),
    entry_at    DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    device_type LowCardinality(String),
    browser     LowCardinality(String),
    os          LowCardinality(String),
    is_bot      Bool,
    sign        Int8,
    version     UInt32
    """,
    engine="VersionedCollapsingMergeTree(sign, version)",
    partition_by="toYYYYMM(day)",
    order_by="(site, day, session_id)",
    ttl="day + INTERVAL {retention_months} MONTH DELETE",
    shard_key="cityHash64(visitor_id)",
)

# Events per day, name and page with their visitors, kept by a materialized view on `events`.
DAILY_EVENTS = Table(
    name="daily_events",
    columns="""
    site     LowCardinality(String),
    day      Date,
    name     LowCardinality(String),
    path     String CODEC(ZSTD(3)),
    events   SimpleAggregateFunction(sum, UInt64),
    visitors AggregateFunction(uniqCombined(12), UUID)
    """,
    engine="AggregatingMergeTree",
    partition_by="toYYYYMM(day)",
    order_by="(site, day, name, path)",
    ttl="day + INTERVAL {retention_months} MONTH DELETE",
    shard_key="rand()",
)
DAILY_EVENTS_VIEW = """
    SELECT site, toDate(timestamp) AS day, name, path, count() AS events, uniqCombinedState(12)(visitor_id) AS visitors
    FROM {events} GROUP BY site, day, name, path"""

ROLLUPS = (SESSIONS, DAILY_EVENTS)

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
    hash      String
    """,
    order_by="seq",
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

SCHEMA_MIGRATIONS = Table(
    name="schema_migrations",
    columns="""
    version    UInt32,
    name       String,
    applied_at DateTime64(3, 'UTC')
    """,
    order_by="version",
)


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
            f"SETTINGS {table.settings}" if table.settings else "",
        ]
        return "".join(f"\n{part}" for part in parts if part)

    def _format(self, text: str) -> str:
        return text.format(retention_months=self.retention_months, ip_retention_days=self.ip_retention_days)
