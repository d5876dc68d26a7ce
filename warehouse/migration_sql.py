"""The SQL of every migration, literal and frozen: a released migration's text never changes.

Each migration has a single-node and a cluster variant. The only placeholders are `${db}`, `${cluster}`,
`${retention_months}` and `${ip_retention_days}`; `{shard}`, `{database}`, `{table}` and `{replica}` are
ClickHouse's own macros. A schema change is a new migration at the end, and `migrations.lock` holds the
checksum of each released one.
"""

# Before any migration: the database, the record of applied migrations, and the leases that serialise runs.
BOOTSTRAP_SINGLE = (
    "CREATE DATABASE IF NOT EXISTS `${db}`",
    """CREATE TABLE IF NOT EXISTS `${db}`.`schema_migrations`
(
    version    UInt32,
    name       String,
    applied_at DateTime64(3, 'UTC')
    )
ENGINE = MergeTree
ORDER BY version""",
    """CREATE TABLE IF NOT EXISTS `${db}`.`leases`
(
    name       LowCardinality(String),
    term       UInt64,
    owner      String,
    expires_at DateTime64(3, 'UTC'),
    taken_at   DateTime64(3, 'UTC')
    )
ENGINE = MergeTree
ORDER BY (name, term)
SETTINGS non_replicated_deduplication_window = 10000""",
)
BOOTSTRAP_CLUSTER = (
    "CREATE DATABASE IF NOT EXISTS `${db}` ON CLUSTER `${cluster}`",
    """CREATE TABLE IF NOT EXISTS `${db}`.`schema_migrations` ON CLUSTER `${cluster}`
(
    version    UInt32,
    name       String,
    applied_at DateTime64(3, 'UTC')
    )
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{database}/{table}', '{replica}')
ORDER BY version""",
    """CREATE TABLE IF NOT EXISTS `${db}`.`leases` ON CLUSTER `${cluster}`
(
    name       LowCardinality(String),
    term       UInt64,
    owner      String,
    expires_at DateTime64(3, 'UTC'),
    taken_at   DateTime64(3, 'UTC')
    )
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{database}/{table}', '{replica}')
ORDER BY (name, term)""",
)

V1_SINGLE = (
    """CREATE TABLE IF NOT EXISTS `${db}`.`events`
(
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
    client_ip         IPv6 TTL toDateTime(received_at) + INTERVAL ${ip_retention_days} DAY,
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
    )
ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (site, toDate(timestamp), name, visitor_id, timestamp)
TTL toDateTime(timestamp) + INTERVAL ${retention_months} MONTH DELETE""",
    """CREATE TABLE IF NOT EXISTS `${db}`.`consent`
(
    site           LowCardinality(String),
    visitor_id     UUID,
    recorded_at    DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    analytics      Bool,
    ads            Bool,
    policy_version LowCardinality(String),
    source         LowCardinality(String)
    )
ENGINE = MergeTree
PARTITION BY toYYYYMM(recorded_at)
ORDER BY (site, visitor_id, recorded_at)""",
    """CREATE TABLE IF NOT EXISTS `${db}`.`audit_log`
(
    seq       UInt64,
    time      DateTime64(6, 'UTC'),
    actor     String,
    action    LowCardinality(String),
    resource  String,
    outcome   LowCardinality(String),
    detail    String CODEC(ZSTD(3)),
    prev_hash String,
    hash      String
    )
ENGINE = MergeTree
ORDER BY seq""",
)

V1_CLUSTER = (
    """CREATE TABLE IF NOT EXISTS `${db}`.`events_local` ON CLUSTER `${cluster}`
(
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
    client_ip         IPv6 TTL toDateTime(received_at) + INTERVAL ${ip_retention_days} DAY,
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
    )
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(timestamp)
ORDER BY (site, toDate(timestamp), name, visitor_id, timestamp)
TTL toDateTime(timestamp) + INTERVAL ${retention_months} MONTH DELETE""",
    """CREATE TABLE IF NOT EXISTS `${db}`.`events` ON CLUSTER `${cluster}`
AS `${db}`.`events_local`
ENGINE = Distributed(`${cluster}`, `${db}`, `events_local`, cityHash64(visitor_id))""",
    """CREATE TABLE IF NOT EXISTS `${db}`.`consent_local` ON CLUSTER `${cluster}`
(
    site           LowCardinality(String),
    visitor_id     UUID,
    recorded_at    DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    analytics      Bool,
    ads            Bool,
    policy_version LowCardinality(String),
    source         LowCardinality(String)
    )
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(recorded_at)
ORDER BY (site, visitor_id, recorded_at)""",
    """CREATE TABLE IF NOT EXISTS `${db}`.`consent` ON CLUSTER `${cluster}`
AS `${db}`.`consent_local`
ENGINE = Distributed(`${cluster}`, `${db}`, `consent_local`, cityHash64(visitor_id))""",
    """CREATE TABLE IF NOT EXISTS `${db}`.`audit_log` ON CLUSTER `${cluster}`
(
    seq       UInt64,
    time      DateTime64(6, 'UTC'),
    actor     String,
    action    LowCardinality(String),
    resource  String,
    outcome   LowCardinality(String),
    detail    String CODEC(ZSTD(3)),
    prev_hash String,
    hash      String
    )
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{database}/{table}', '{replica}')
ORDER BY seq""",
)

V2_SINGLE = (
    """ALTER TABLE `${db}`.`events` MODIFY SETTING non_replicated_deduplication_window = 10000""",
    """ALTER TABLE `${db}`.`consent` MODIFY SETTING non_replicated_deduplication_window = 10000""",
)

V2_CLUSTER = (
)

V3_SINGLE = (
    """CREATE TABLE IF NOT EXISTS `${db}`.`users`
(
    username      String,
    role          LowCardinality(String),
    password_hash String,
    disabled      Bool,
    changed_at    DateTime64(6, 'UTC'),
    changed_by    String
    )
ENGINE = MergeTree
ORDER BY (username, changed_at)""",
)

V3_CLUSTER = (
    """CREATE TABLE IF NOT EXISTS `${db}`.`users` ON CLUSTER `${cluster}`
(
    username      String,
    role          LowCardinality(String),
    password_hash String,
    disabled      Bool,
    changed_at    DateTime64(6, 'UTC'),
    changed_by    String
    )
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{database}/{table}', '{replica}')
ORDER BY (username, changed_at)""",
)

V4_SINGLE = (
    """CREATE TABLE IF NOT EXISTS `${db}`.`sessions`
(
    site        LowCardinality(String),
    day         Date,
    session_id  UUID,
    visitor_id  UUID,
    started     DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    ended       DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    pageviews   UInt32,
    events      UInt32,
    conversions UInt32,
    source      LowCardinality(String),
    medium      LowCardinality(String),
    campaign    LowCardinality(String),
    entry_path  String CODEC(ZSTD(3)),
    device_type LowCardinality(String),
    browser     LowCardinality(String),
    os          LowCardinality(String),
    is_bot      Bool,
    sign        Int8,
    version     UInt32
    )
ENGINE = VersionedCollapsingMergeTree(sign, version)
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, session_id)
TTL day + INTERVAL ${retention_months} MONTH DELETE""",
    """ALTER TABLE `${db}`.`sessions` MODIFY SETTING non_replicated_deduplication_window = 10000""",
    """CREATE TABLE IF NOT EXISTS `${db}`.`daily_events`
(
    site     LowCardinality(String),
    day      Date,
    name     LowCardinality(String),
    path     String CODEC(ZSTD(3)),
    events   SimpleAggregateFunction(sum, UInt64),
    visitors AggregateFunction(uniq, UUID)
    )
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, name, path)
TTL day + INTERVAL ${retention_months} MONTH DELETE""",
    """INSERT INTO `${db}`.`sessions`
    SELECT site, toDate(min(timestamp)) AS day, session_id, any(visitor_id) AS visitor_id, min(timestamp) AS started,
           max(timestamp) AS ended, countIf(name = 'pageview') AS pageviews, count() AS events,
           countIf(name != 'pageview') AS conversions,
           argMin(if(utm_source != '', utm_source, if(referrer_host != '', referrer_host, '(direct)')), timestamp)
               AS source,
           argMin(utm_medium, timestamp) AS medium, argMin(utm_campaign, timestamp) AS campaign,
           argMinIf(path, timestamp, name = 'pageview') AS entry_path, any(device_type) AS device_type,
           any(browser) AS browser, any(os) AS os, max(is_bot) AS is_bot, 1 AS sign, count() AS version
    FROM `${db}`.`events` GROUP BY site, session_id""",
    """INSERT INTO `${db}`.`daily_events`
    SELECT site, toDate(timestamp) AS day, name, path, count() AS events, uniqState(visitor_id) AS visitors
    FROM `${db}`.`events` GROUP BY site, day, name, path""",
    """CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`daily_events_view`
TO `${db}`.`daily_events` AS
    SELECT site, toDate(timestamp) AS day, name, path, count() AS events, uniqState(visitor_id) AS visitors
    FROM `${db}`.`events` GROUP BY site, day, name, path""",
)

V4_CLUSTER = (
    """CREATE TABLE IF NOT EXISTS `${db}`.`sessions_local` ON CLUSTER `${cluster}`
(
    site        LowCardinality(String),
    day         Date,
    session_id  UUID,
    visitor_id  UUID,
    started     DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    ended       DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    pageviews   UInt32,
    events      UInt32,
    conversions UInt32,
    source      LowCardinality(String),
    medium      LowCardinality(String),
    campaign    LowCardinality(String),
    entry_path  String CODEC(ZSTD(3)),
    device_type LowCardinality(String),
    browser     LowCardinality(String),
    os          LowCardinality(String),
    is_bot      Bool,
    sign        Int8,
    version     UInt32
    )
ENGINE = ReplicatedVersionedCollapsingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', sign, version)
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, session_id)
TTL day + INTERVAL ${retention_months} MONTH DELETE""",
    """CREATE TABLE IF NOT EXISTS `${db}`.`sessions` ON CLUSTER `${cluster}`
AS `${db}`.`sessions_local`
ENGINE = Distributed(`${cluster}`, `${db}`, `sessions_local`, cityHash64(visitor_id))""",
    """CREATE TABLE IF NOT EXISTS `${db}`.`daily_events_local` ON CLUSTER `${cluster}`
(
    site     LowCardinality(String),
    day      Date,
    name     LowCardinality(String),
    path     String CODEC(ZSTD(3)),
    events   SimpleAggregateFunction(sum, UInt64),
    visitors AggregateFunction(uniq, UUID)
    )
ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, name, path)
TTL day + INTERVAL ${retention_months} MONTH DELETE""",
    """CREATE TABLE IF NOT EXISTS `${db}`.`daily_events` ON CLUSTER `${cluster}`
AS `${db}`.`daily_events_local`
ENGINE = Distributed(`${cluster}`, `${db}`, `daily_events_local`, rand())""",
    """INSERT INTO `${db}`.`sessions`
    SELECT site, toDate(min(timestamp)) AS day, session_id, any(visitor_id) AS visitor_id, min(timestamp) AS started,
           max(timestamp) AS ended, countIf(name = 'pageview') AS pageviews, count() AS events,
           countIf(name != 'pageview') AS conversions,
           argMin(if(utm_source != '', utm_source, if(referrer_host != '', referrer_host, '(direct)')), timestamp)
               AS source,
           argMin(utm_medium, timestamp) AS medium, argMin(utm_campaign, timestamp) AS campaign,
           argMinIf(path, timestamp, name = 'pageview') AS entry_path, any(device_type) AS device_type,
           any(browser) AS browser, any(os) AS os, max(is_bot) AS is_bot, 1 AS sign, count() AS version
    FROM `${db}`.`events` GROUP BY site, session_id""",
    """INSERT INTO `${db}`.`daily_events`
    SELECT site, toDate(timestamp) AS day, name, path, count() AS events, uniqState(visitor_id) AS visitors
    FROM `${db}`.`events` GROUP BY site, day, name, path""",
    """CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`daily_events_view` ON CLUSTER `${cluster}`
TO `${db}`.`daily_events_local` AS
    SELECT site, toDate(timestamp) AS day, name, path, count() AS events, uniqState(visitor_id) AS visitors
    FROM `${db}`.`events_local` GROUP BY site, day, name, path""",
)

V5_SINGLE = (
    """CREATE TABLE IF NOT EXISTS `${db}`.`outbox`
(
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
    )
ENGINE = MergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (destination, window_start, key, recorded_at)""",
)

V5_CLUSTER = (
    """CREATE TABLE IF NOT EXISTS `${db}`.`outbox` ON CLUSTER `${cluster}`
(
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
    )
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(window_start)
ORDER BY (destination, window_start, key, recorded_at)""",
)

V6_SINGLE = (
    """CREATE TABLE IF NOT EXISTS `${db}`.`tracker_scans`
(
    scan_id     String,
    site        LowCardinality(String),
    mode        LowCardinality(String),
    started_at  DateTime64(3, 'UTC'),
    finished_at DateTime64(3, 'UTC'),
    pages       UInt32
    )
ENGINE = MergeTree
ORDER BY (site, started_at)""",
    """CREATE TABLE IF NOT EXISTS `${db}`.`tracker_findings`
(
    scan_id  String,
    site     LowCardinality(String),
    page     String CODEC(ZSTD(3)),
    host     String,
    vendor   LowCardinality(String),
    kind     LowCardinality(String),
    source   LowCardinality(String),
    seen_at  DateTime64(3, 'UTC')
    )
ENGINE = MergeTree
PARTITION BY toYYYYMM(seen_at)
ORDER BY (site, host, page, seen_at)""",
    """CREATE TABLE IF NOT EXISTS `${db}`.`tracker_alerts`
(
    site       LowCardinality(String),
    host       String,
    vendor     LowCardinality(String),
    alerted_at DateTime64(3, 'UTC')
    )
ENGINE = MergeTree
ORDER BY (site, host)""",
)

V6_CLUSTER = (
    """CREATE TABLE IF NOT EXISTS `${db}`.`tracker_scans` ON CLUSTER `${cluster}`
(
    scan_id     String,
    site        LowCardinality(String),
    mode        LowCardinality(String),
    started_at  DateTime64(3, 'UTC'),
    finished_at DateTime64(3, 'UTC'),
    pages       UInt32
    )
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{database}/{table}', '{replica}')
ORDER BY (site, started_at)""",
    """CREATE TABLE IF NOT EXISTS `${db}`.`tracker_findings` ON CLUSTER `${cluster}`
(
    scan_id  String,
    site     LowCardinality(String),
    page     String CODEC(ZSTD(3)),
    host     String,
    vendor   LowCardinality(String),
    kind     LowCardinality(String),
    source   LowCardinality(String),
    seen_at  DateTime64(3, 'UTC')
    )
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(seen_at)
ORDER BY (site, host, page, seen_at)""",
    """CREATE TABLE IF NOT EXISTS `${db}`.`tracker_alerts` ON CLUSTER `${cluster}`
(
    site       LowCardinality(String),
    host       String,
    vendor     LowCardinality(String),
    alerted_at DateTime64(3, 'UTC')
    )
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{database}/{table}', '{replica}')
ORDER BY (site, host)""",
)

V7_SINGLE = (
    """ALTER TABLE `${db}`.`audit_log` ADD COLUMN IF NOT EXISTS chain LowCardinality(String) DEFAULT 'main'""",
)

V7_CLUSTER = (
    """ALTER TABLE `${db}`.`audit_log` ON CLUSTER `${cluster}` ADD COLUMN IF NOT EXISTS chain LowCardinality(String) DEFAULT 'main'""",
)

# Since migration 5 and 6 were released, new installs made their tables with a deduplication window; this
# gives the same to the installs made before (replicated tables deduplicate by themselves).
V8_SINGLE = (
    "ALTER TABLE `${db}`.`outbox` MODIFY SETTING non_replicated_deduplication_window = 10000",
    "ALTER TABLE `${db}`.`tracker_scans` MODIFY SETTING non_replicated_deduplication_window = 10000",
    "ALTER TABLE `${db}`.`tracker_findings` MODIFY SETTING non_replicated_deduplication_window = 10000",
)
V8_CLUSTER = ()

# Installs made before visitor states became uniqCombined(12) keep uniq states, which cannot be converted:
# the table is made again from the stored events (the same TTL keeps both). Safe to rerun at any point.
_DAILY_EVENTS_COLUMNS = """(
    site     LowCardinality(String),
    day      Date,
    name     LowCardinality(String),
    path     String CODEC(ZSTD(3)),
    events   SimpleAggregateFunction(sum, UInt64),
    visitors AggregateFunction(uniqCombined(12), UUID)
    )"""
_DAILY_EVENTS_SELECT = """
    SELECT site, toDate(timestamp) AS day, name, path, count() AS events, uniqCombinedState(12)(visitor_id) AS visitors
    FROM `${db}`.`events%s` GROUP BY site, day, name, path"""
V9_SINGLE = (
    "DROP VIEW IF EXISTS `${db}`.`daily_events_view`",
    "DROP TABLE IF EXISTS `${db}`.`daily_events`",
    f"""CREATE TABLE IF NOT EXISTS `${{db}}`.`daily_events`
{_DAILY_EVENTS_COLUMNS}
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, name, path)
TTL day + INTERVAL ${{retention_months}} MONTH DELETE""",
    "INSERT INTO `${db}`.`daily_events`" + _DAILY_EVENTS_SELECT % "",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`daily_events_view`\nTO `${db}`.`daily_events` AS"
    + _DAILY_EVENTS_SELECT % "",
)
V9_CLUSTER = (
    "DROP VIEW IF EXISTS `${db}`.`daily_events_view` ON CLUSTER `${cluster}` SYNC",
    "DROP TABLE IF EXISTS `${db}`.`daily_events` ON CLUSTER `${cluster}` SYNC",
    "DROP TABLE IF EXISTS `${db}`.`daily_events_local` ON CLUSTER `${cluster}` SYNC",
    f"""CREATE TABLE IF NOT EXISTS `${{db}}`.`daily_events_local` ON CLUSTER `${{cluster}}`
{_DAILY_EVENTS_COLUMNS}
ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{{shard}}/{{database}}/{{table}}', '{{replica}}')
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, name, path)
TTL day + INTERVAL ${{retention_months}} MONTH DELETE""",
    """CREATE TABLE IF NOT EXISTS `${db}`.`daily_events` ON CLUSTER `${cluster}`
AS `${db}`.`daily_events_local`
ENGINE = Distributed(`${cluster}`, `${db}`, `daily_events_local`, rand())""",
    "INSERT INTO `${db}`.`daily_events`" + _DAILY_EVENTS_SELECT % "",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`daily_events_view` ON CLUSTER `${cluster}`\n"
    "TO `${db}`.`daily_events_local` AS" + _DAILY_EVENTS_SELECT % "_local",
)

# Visits kept by ClickHouse itself: every column is a commutative state that a materialized view on `events`
# writes per insert and merges fold, so any number of writers need no read before write. The writers'
# `sessions` table goes. The backfill empties the table first, so a rerun after a failure part way (the view
# not made yet) fills it once; events stored between the backfill and the view are missed, so writers are
# stopped while it runs.
_VISITS_COLUMNS = """(
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
    )"""
_VISITS_KEYS = """
PARTITION BY toYYYYMM(start)
ORDER BY (site, toDate(start), session_id)
TTL toDateTime(start) + INTERVAL ${retention_months} MONTH DELETE"""
# First-event values are argMin by (time, event id) kept as the plain minimum of one string: a fixed-width
# key (15 digits of milliseconds, the event id), then the values split by NUL. `min` over a string is what
# ClickHouse folds fastest (a tuple's generic min made the reports three times slower). The entry page's key
# starts with 0 for a page view and 1 for any other event, so page views come first.
# A visit's start is the time in its UUIDv7 id, so all its rows share one key whenever its events come. An id
# minted before visit ids were UUIDv7 has none, and one whose time is over a day from its events' was not
# minted by the collector: the batch's first event stands in, which affects only the visits live during the
# upgrade (one may count once per batch day), and keeps a made-up time from filing a visit in another month.
_VISITS_SELECT = """
    SELECT site, session_id,
           if(bitAnd(bitShiftRight(toUInt128(session_id), 76), 15) = 7
              AND abs(dateDiff('hour', UUIDv7ToDateTime(session_id, 'UTC'), min(timestamp))) <= 24,
              UUIDv7ToDateTime(session_id, 'UTC'), min(timestamp)) AS start,
           min(visitor_id) AS visitor_id, min(timestamp) AS started, max(timestamp) AS ended,
           countIf(name = 'pageview') AS pageviews, count() AS events, countIf(name != 'pageview') AS conversions,
           sumMapIf(map(toString(name), toUInt64(1)), name != 'pageview') AS converted,
           min(concat(leftPad(toString(toUnixTimestamp64Milli(timestamp)), 15, '0'), toString(event_id),
                      arrayStringConcat(arrayMap(value -> replaceAll(value, '\\0', ''), [
                          if(utm_source != '', utm_source, if(referrer_host != '', referrer_host, '(direct)')),
                          utm_source, utm_medium, utm_campaign, utm_content, device_type, browser, os]), '\\0')))
               AS first,
           min(concat(toString(name != 'pageview'), leftPad(toString(toUnixTimestamp64Milli(timestamp)), 15, '0'),
                      toString(event_id), if(name = 'pageview', path, ''))) AS entry,
           max(is_bot) AS is_bot
    FROM `${db}`.`events%s` GROUP BY site, session_id"""
V10_SINGLE = (
    "CREATE TABLE IF NOT EXISTS `${db}`.`visits`\n" + _VISITS_COLUMNS
    + "\nENGINE = AggregatingMergeTree" + _VISITS_KEYS + "\nSETTINGS non_replicated_deduplication_window = 10000",
    "DROP VIEW IF EXISTS `${db}`.`visits_view`",
    "TRUNCATE TABLE `${db}`.`visits`",
    "INSERT INTO `${db}`.`visits`" + _VISITS_SELECT % "",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`visits_view`\nTO `${db}`.`visits` AS" + _VISITS_SELECT % "",
    "DROP TABLE IF EXISTS `${db}`.`sessions`",
)
# Visits are sharded like events, by visitor, so each shard's view sees whole visits and the backfill
# through the Distributed table puts a visit's rows beside those.
V10_CLUSTER = (
    "CREATE TABLE IF NOT EXISTS `${db}`.`visits_local` ON CLUSTER `${cluster}`\n" + _VISITS_COLUMNS
    + "\nENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')"
    + _VISITS_KEYS,
    """CREATE TABLE IF NOT EXISTS `${db}`.`visits` ON CLUSTER `${cluster}`
AS `${db}`.`visits_local`
ENGINE = Distributed(`${cluster}`, `${db}`, `visits_local`, cityHash64(visitor_id))""",
    "DROP VIEW IF EXISTS `${db}`.`visits_view` ON CLUSTER `${cluster}` SYNC",
    "TRUNCATE TABLE `${db}`.`visits_local` ON CLUSTER `${cluster}`",
    "INSERT INTO `${db}`.`visits`" + _VISITS_SELECT % "",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`visits_view` ON CLUSTER `${cluster}`\n"
    "TO `${db}`.`visits_local` AS" + _VISITS_SELECT % "_local",
    "DROP TABLE IF EXISTS `${db}`.`sessions` ON CLUSTER `${cluster}` SYNC",
    "DROP TABLE IF EXISTS `${db}`.`sessions_local` ON CLUSTER `${cluster}` SYNC",
)

# Audit entries are inserted under a token of their chain and number, so writers sharing a chain take turns
# (replicated tables deduplicate by themselves).
V11_SINGLE = ("ALTER TABLE `${db}`.`audit_log` MODIFY SETTING non_replicated_deduplication_window = 10000",)
V11_CLUSTER = ()

# Report cells of closed days, beside the visits they are computed from; small, so whole on every node.
_VISIT_CELLS_COLUMNS = """(
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
    events      UInt64
    )"""
_VISIT_CELLS_KEYS = """
PARTITION BY toYYYYMM(day)
ORDER BY (site, report, day, generation, key)
TTL day + INTERVAL ${retention_months} MONTH DELETE"""
_VISIT_CELL_DAYS_COLUMNS = """(
    site        LowCardinality(String),
    report      LowCardinality(String),
    day         Date,
    generation  UInt64,
    definition  String,
    events      UInt64,
    fingerprint UInt64,
    computed_at DateTime64(3, 'UTC')
    )"""
_VISIT_CELL_DAYS_KEYS = """
ORDER BY (site, report, day, generation)
TTL day + INTERVAL ${retention_months} MONTH DELETE"""
# Visit days: what each day's visits hold, so a report tells in a few rows whether a day's cells still match.
# The view comes first and the backfill after: a visit stored in between counts twice here, which only makes
# its day's cells be computed again, since a day's cells record what this table held when they were computed.
_VISIT_DAYS_COLUMNS = """(
    site        LowCardinality(String),
    day         Date,
    events      SimpleAggregateFunction(sum, UInt64),
    fingerprint SimpleAggregateFunction(sum, UInt64)
    )"""
_VISIT_DAYS_KEYS = """
PARTITION BY toYYYYMM(day)
ORDER BY (site, day)
TTL day + INTERVAL ${retention_months} MONTH DELETE"""
_VISIT_DAYS_SELECT = """
    SELECT site, day, sum(visit_events) AS events, sum(visit_hash) AS fingerprint FROM (
        SELECT site, toDate(start) AS day, events AS visit_events, cityHash64(session_id) * events AS visit_hash
        FROM `${db}`.`visits%s`) GROUP BY site, day"""
# Events stored without analytics consent have the nil visitor and visit id: they count in page and event
# totals, never as a visit or a visitor. The views are made again with that rule; an insert between a view's
# drop and its creation would be missing from its rollup (stop the collectors to upgrade, as for migration 10).
_ANONYMOUS = "toUUID('00000000-0000-0000-0000-000000000000')"
_VISITS_SELECT_12 = _VISITS_SELECT.replace(
    "FROM `${db}`.`events%s` GROUP BY site, session_id",
    f"FROM `${{db}}`.`events%s` WHERE session_id != {_ANONYMOUS} GROUP BY site, session_id")
_DAILY_EVENTS_SELECT_12 = f"""
    SELECT site, toDate(timestamp) AS day, name, path, count() AS events,
           uniqCombinedStateIf(12)(visitor_id, visitor_id != {_ANONYMOUS}) AS visitors
    FROM `${{db}}`.`events%s` GROUP BY site, day, name, path"""
V12_SINGLE = (
    "DROP VIEW IF EXISTS `${db}`.`visits_view`",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`visits_view`\nTO `${db}`.`visits` AS" + _VISITS_SELECT_12 % "",
    "DROP VIEW IF EXISTS `${db}`.`daily_events_view`",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`daily_events_view`\nTO `${db}`.`daily_events` AS"
    + _DAILY_EVENTS_SELECT_12 % "",
    "CREATE TABLE IF NOT EXISTS `${db}`.`visit_days`\n" + _VISIT_DAYS_COLUMNS + "\nENGINE = AggregatingMergeTree"
    + _VISIT_DAYS_KEYS + "\nSETTINGS non_replicated_deduplication_window = 10000",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`visit_days_view`\nTO `${db}`.`visit_days` AS"
    + _VISIT_DAYS_SELECT % "",
    "INSERT INTO `${db}`.`visit_days`" + _VISIT_DAYS_SELECT % "",
    "CREATE TABLE IF NOT EXISTS `${db}`.`visit_cells`\n" + _VISIT_CELLS_COLUMNS + "\nENGINE = MergeTree"
    + _VISIT_CELLS_KEYS,
    "CREATE TABLE IF NOT EXISTS `${db}`.`visit_cell_days`\n" + _VISIT_CELL_DAYS_COLUMNS + "\nENGINE = MergeTree"
    + _VISIT_CELL_DAYS_KEYS,
)
V12_CLUSTER = (
    "DROP VIEW IF EXISTS `${db}`.`visits_view` ON CLUSTER `${cluster}` SYNC",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`visits_view` ON CLUSTER `${cluster}`\n"
    "TO `${db}`.`visits_local` AS" + _VISITS_SELECT_12 % "_local",
    "DROP VIEW IF EXISTS `${db}`.`daily_events_view` ON CLUSTER `${cluster}` SYNC",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`daily_events_view` ON CLUSTER `${cluster}`\n"
    "TO `${db}`.`daily_events_local` AS" + _DAILY_EVENTS_SELECT_12 % "_local",
    "CREATE TABLE IF NOT EXISTS `${db}`.`visit_days_local` ON CLUSTER `${cluster}`\n" + _VISIT_DAYS_COLUMNS
    + "\nENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')"
    + _VISIT_DAYS_KEYS,
    """CREATE TABLE IF NOT EXISTS `${db}`.`visit_days` ON CLUSTER `${cluster}`
AS `${db}`.`visit_days_local`
ENGINE = Distributed(`${cluster}`, `${db}`, `visit_days_local`, rand())""",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`visit_days_view` ON CLUSTER `${cluster}`\n"
    "TO `${db}`.`visit_days_local` AS" + _VISIT_DAYS_SELECT % "_local",
    "INSERT INTO `${db}`.`visit_days`" + _VISIT_DAYS_SELECT % "",
    "CREATE TABLE IF NOT EXISTS `${db}`.`visit_cells` ON CLUSTER `${cluster}`\n" + _VISIT_CELLS_COLUMNS
    + "\nENGINE = ReplicatedMergeTree('/clickhouse/tables/{database}/{table}', '{replica}')" + _VISIT_CELLS_KEYS,
    "CREATE TABLE IF NOT EXISTS `${db}`.`visit_cell_days` ON CLUSTER `${cluster}`\n" + _VISIT_CELL_DAYS_COLUMNS
    + "\nENGINE = ReplicatedMergeTree('/clickhouse/tables/{database}/{table}', '{replica}')" + _VISIT_CELL_DAYS_KEYS,
)
_ANNOTATIONS_COLUMNS = """(
    annotation_id UUID,
    site          LowCardinality(String),
    day           Date,
    text          String,
    deleted       Bool,
    changed_at    DateTime64(6, 'UTC'),
    changed_by    String
    )"""
_SAVED_VIEWS_COLUMNS = """(
    username   String,
    name       String,
    view       String,
    deleted    Bool,
    changed_at DateTime64(6, 'UTC')
    )"""
V13_SINGLE = (
    "CREATE TABLE IF NOT EXISTS `${db}`.`annotations`\n" + _ANNOTATIONS_COLUMNS
    + "\nENGINE = MergeTree\nORDER BY (site, annotation_id, changed_at)",
    "CREATE TABLE IF NOT EXISTS `${db}`.`saved_views`\n" + _SAVED_VIEWS_COLUMNS
    + "\nENGINE = MergeTree\nORDER BY (username, name, changed_at)",
)
V13_CLUSTER = (
    "CREATE TABLE IF NOT EXISTS `${db}`.`annotations` ON CLUSTER `${cluster}`\n" + _ANNOTATIONS_COLUMNS
    + "\nENGINE = ReplicatedMergeTree('/clickhouse/tables/{database}/{table}', '{replica}')"
    "\nORDER BY (site, annotation_id, changed_at)",
    "CREATE TABLE IF NOT EXISTS `${db}`.`saved_views` ON CLUSTER `${cluster}`\n" + _SAVED_VIEWS_COLUMNS
    + "\nENGINE = ReplicatedMergeTree('/clickhouse/tables/{database}/{table}', '{replica}')"
    "\nORDER BY (username, name, changed_at)",
)

# Goals are named conversions an analyst defines. The snippet's own measurements (engaged time and scroll depth
# per page view, outbound links, downloads, 404s, form submissions) are events, not conversions: a goal makes
# one count as such. Page rows of `daily_events` sum each page's engaged time and scroll depth, capped per
# event so that no one browser can move a page's figures far. Both views are made again (stop the collectors
# to upgrade, as for migration 10); earlier rows keep their figures, since no event stored before held these.
_GOALS_COLUMNS = """(
    goal_id    UUID,
    site       LowCardinality(String),
    name       String,
    kind       LowCardinality(String),
    pattern    String,
    value      Float64,
    deleted    Bool,
    changed_at DateTime64(6, 'UTC'),
    changed_by String
    )"""
_MEASUREMENTS = "('pageview', 'engagement', 'outbound-link', 'file-download', '404', 'form-submit')"
_VISITS_SELECT_14 = _VISITS_SELECT_12.replace(
    "countIf(name != 'pageview') AS conversions,", f"countIf(name NOT IN {_MEASUREMENTS}) AS conversions,").replace(
    "name != 'pageview') AS converted", f"name NOT IN {_MEASUREMENTS}) AS converted")
_DAILY_EVENTS_SELECT_14 = f"""
    SELECT site, toDate(timestamp) AS day, name, path, count() AS events,
           uniqCombinedStateIf(12)(visitor_id, visitor_id != {_ANONYMOUS}) AS visitors,
           sum(least(toUInt64OrZero(props['engaged_ms']), 1800000)) AS engaged_ms,
           sum(least(toUInt64OrZero(props['scroll']), 100)) AS scroll
    FROM `${{db}}`.`events%s` GROUP BY site, day, name, path"""
_ENGAGEMENT_COLUMNS = ("ADD COLUMN IF NOT EXISTS engaged_ms SimpleAggregateFunction(sum, UInt64), "
                       "ADD COLUMN IF NOT EXISTS scroll SimpleAggregateFunction(sum, UInt64)")
V14_SINGLE = (
    "CREATE TABLE IF NOT EXISTS `${db}`.`goals`\n" + _GOALS_COLUMNS
    + "\nENGINE = MergeTree\nORDER BY (site, goal_id, changed_at)",
    "ALTER TABLE `${db}`.`daily_events` " + _ENGAGEMENT_COLUMNS,
    "DROP VIEW IF EXISTS `${db}`.`daily_events_view`",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`daily_events_view`\nTO `${db}`.`daily_events` AS"
    + _DAILY_EVENTS_SELECT_14 % "",
    "DROP VIEW IF EXISTS `${db}`.`visits_view`",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`visits_view`\nTO `${db}`.`visits` AS" + _VISITS_SELECT_14 % "",
)
V14_CLUSTER = (
    "CREATE TABLE IF NOT EXISTS `${db}`.`goals` ON CLUSTER `${cluster}`\n" + _GOALS_COLUMNS
    + "\nENGINE = ReplicatedMergeTree('/clickhouse/tables/{database}/{table}', '{replica}')"
    "\nORDER BY (site, goal_id, changed_at)",
    "ALTER TABLE `${db}`.`daily_events_local` ON CLUSTER `${cluster}` " + _ENGAGEMENT_COLUMNS,
    "ALTER TABLE `${db}`.`daily_events` ON CLUSTER `${cluster}` " + _ENGAGEMENT_COLUMNS,
    "DROP VIEW IF EXISTS `${db}`.`daily_events_view` ON CLUSTER `${cluster}` SYNC",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`daily_events_view` ON CLUSTER `${cluster}`\n"
    "TO `${db}`.`daily_events_local` AS" + _DAILY_EVENTS_SELECT_14 % "_local",
    "DROP VIEW IF EXISTS `${db}`.`visits_view` ON CLUSTER `${cluster}` SYNC",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`visits_view` ON CLUSTER `${cluster}`\n"
    "TO `${db}`.`visits_local` AS" + _VISITS_SELECT_14 % "_local",
)

# A goal's figures per closed day are cells like the visit reports' (`warehouse.cells`), with the value of its
# completions, a sum of money, beside the counts.
V15_SINGLE = ("ALTER TABLE `${db}`.`visit_cells` ADD COLUMN IF NOT EXISTS value Float64",)
V15_CLUSTER = ("ALTER TABLE `${db}`.`visit_cells` ON CLUSTER `${cluster}` ADD COLUMN IF NOT EXISTS value Float64",)

# Daily figures per event name, apart from pages: `daily_events` merges one visitor state per page and day, which
# was most of the daily reports' time. The table is made again and filled from `daily_events` before its view on
# `events` is made, so a rerun after a failure part way fills it once; events stored between the backfill and
# the view are missing from it (they stay in `events` and `daily_events`), so writers are stopped while it runs.
# On a single node both tables keep a deduplication window, as `visits` does: without one a replayed spool
# segment, dropped by `events`, reached `daily_events` through its view and counted twice there. Replicated
# tables deduplicate by default.
_DAILY_NAMES_COLUMNS = """(
    site     LowCardinality(String),
    day      Date,
    name     LowCardinality(String),
    events   SimpleAggregateFunction(sum, UInt64),
    visitors AggregateFunction(uniqCombined(12), UUID)
    )"""
_DAILY_NAMES_KEYS = """
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, name)
TTL day + INTERVAL ${retention_months} MONTH DELETE"""
_DAILY_NAMES_BACKFILL = """
    SELECT site, day, name, sum(events) AS events, uniqCombinedMergeState(12)(visitors) AS visitors
    FROM `${db}`.`daily_events` GROUP BY site, day, name"""
_DAILY_NAMES_SELECT = f"""
    SELECT site, toDate(timestamp) AS day, name, count() AS events,
           uniqCombinedStateIf(12)(visitor_id, visitor_id != {_ANONYMOUS}) AS visitors
    FROM `${{db}}`.`events%s` GROUP BY site, day, name"""
V16_SINGLE = (
    "ALTER TABLE `${db}`.`daily_events` MODIFY SETTING non_replicated_deduplication_window = 10000",
    "DROP VIEW IF EXISTS `${db}`.`daily_names_view`",
    "DROP TABLE IF EXISTS `${db}`.`daily_names`",
    "CREATE TABLE IF NOT EXISTS `${db}`.`daily_names`\n" + _DAILY_NAMES_COLUMNS + "\nENGINE = AggregatingMergeTree"
    + _DAILY_NAMES_KEYS + "\nSETTINGS non_replicated_deduplication_window = 10000",
    "INSERT INTO `${db}`.`daily_names`" + _DAILY_NAMES_BACKFILL,
    "CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`daily_names_view`\nTO `${db}`.`daily_names` AS"
    + _DAILY_NAMES_SELECT % "",
)
V16_CLUSTER = (
    "DROP VIEW IF EXISTS `${db}`.`daily_names_view` ON CLUSTER `${cluster}` SYNC",
    "DROP TABLE IF EXISTS `${db}`.`daily_names` ON CLUSTER `${cluster}` SYNC",
    "DROP TABLE IF EXISTS `${db}`.`daily_names_local` ON CLUSTER `${cluster}` SYNC",
    "CREATE TABLE IF NOT EXISTS `${db}`.`daily_names_local` ON CLUSTER `${cluster}`\n" + _DAILY_NAMES_COLUMNS
    + "\nENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')"
    + _DAILY_NAMES_KEYS,
    """CREATE TABLE IF NOT EXISTS `${db}`.`daily_names` ON CLUSTER `${cluster}`
AS `${db}`.`daily_names_local`
ENGINE = Distributed(`${cluster}`, `${db}`, `daily_names_local`, rand())""",
    "INSERT INTO `${db}`.`daily_names`" + _DAILY_NAMES_BACKFILL,
    "CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`daily_names_view` ON CLUSTER `${cluster}`\n"
    "TO `${db}`.`daily_names_local` AS" + _DAILY_NAMES_SELECT % "_local",
)
