"""Installs made by released builds whose migrations differed from the frozen ones (the same version, other DDL).

Each is the single-node SQL that build ran for the migrations that differ, rendered from its own code.
"""

INSTALLS = {
    # UTM source and content (384b182)
    "384b182": {
        4: (
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
    utm_source  LowCardinality(String),
    medium      LowCardinality(String),
    campaign    LowCardinality(String),
    content     LowCardinality(String),
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
           argMin(if(e.utm_source != '', e.utm_source, if(referrer_host != '', referrer_host, '(direct)')), timestamp)
               AS source,
           argMin(e.utm_source, timestamp) AS utm_source, argMin(utm_medium, timestamp) AS medium,
           argMin(utm_campaign, timestamp) AS campaign, argMin(e.utm_content, timestamp) AS content,
           argMinIf(path, timestamp, name = 'pageview') AS entry_path, any(device_type) AS device_type,
           any(browser) AS browser, any(os) AS os, max(is_bot) AS is_bot, 1 AS sign, count() AS version
    FROM `${db}`.`events` AS e GROUP BY site, session_id""",
            """INSERT INTO `${db}`.`daily_events`
    SELECT site, toDate(timestamp) AS day, name, path, count() AS events, uniqState(visitor_id) AS visitors
    FROM `${db}`.`events` GROUP BY site, day, name, path""",
            """CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`daily_events_view`
TO `${db}`.`daily_events` AS
    SELECT site, toDate(timestamp) AS day, name, path, count() AS events, uniqState(visitor_id) AS visitors
    FROM `${db}`.`events` GROUP BY site, day, name, path""",
        ),
    },
    # uniqCombined(12) daily visitors (bc86aca)
    "bc86aca": {
        4: (
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
    utm_source  LowCardinality(String),
    medium      LowCardinality(String),
    campaign    LowCardinality(String),
    content     LowCardinality(String),
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
    visitors AggregateFunction(uniqCombined(12), UUID)
    )
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, name, path)
TTL day + INTERVAL ${retention_months} MONTH DELETE""",
            """INSERT INTO `${db}`.`sessions`
    SELECT site, toDate(min(timestamp)) AS day, session_id, any(visitor_id) AS visitor_id, min(timestamp) AS started,
           max(timestamp) AS ended, countIf(name = 'pageview') AS pageviews, count() AS events,
           countIf(name != 'pageview') AS conversions,
           argMin(if(e.utm_source != '', e.utm_source, if(referrer_host != '', referrer_host, '(direct)')), timestamp)
               AS source,
           argMin(e.utm_source, timestamp) AS utm_source, argMin(utm_medium, timestamp) AS medium,
           argMin(utm_campaign, timestamp) AS campaign, argMin(e.utm_content, timestamp) AS content,
           argMinIf(path, timestamp, name = 'pageview') AS entry_path, any(device_type) AS device_type,
           any(browser) AS browser, any(os) AS os, max(is_bot) AS is_bot, 1 AS sign, count() AS version
    FROM `${db}`.`events` AS e GROUP BY site, session_id""",
            """INSERT INTO `${db}`.`daily_events`
    SELECT site, toDate(timestamp) AS day, name, path, count() AS events, uniqCombinedState(12)(visitor_id) AS visitors
    FROM `${db}`.`events` GROUP BY site, day, name, path""",
            """CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`daily_events_view`
TO `${db}`.`daily_events` AS
    SELECT site, toDate(timestamp) AS day, name, path, count() AS events, uniqCombinedState(12)(visitor_id) AS visitors
    FROM `${db}`.`events` GROUP BY site, day, name, path""",
        ),
    },
    # conversions by name (333dd82)
    "333dd82": {
        4: (
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
    converted   Map(LowCardinality(String), UInt32),
    source      LowCardinality(String),
    utm_source  LowCardinality(String),
    medium      LowCardinality(String),
    campaign    LowCardinality(String),
    content     LowCardinality(String),
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
    visitors AggregateFunction(uniqCombined(12), UUID)
    )
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, name, path)
TTL day + INTERVAL ${retention_months} MONTH DELETE""",
            """INSERT INTO `${db}`.`sessions`
    SELECT site, toDate(min(timestamp)) AS day, session_id, any(visitor_id) AS visitor_id, min(timestamp) AS started,
           max(timestamp) AS ended, countIf(name = 'pageview') AS pageviews, count() AS events,
           countIf(name != 'pageview') AS conversions,
           sumMapIf(map(name, toUInt32(1)), name != 'pageview') AS converted,
           argMin(if(e.utm_source != '', e.utm_source, if(referrer_host != '', referrer_host, '(direct)')), timestamp)
               AS source,
           argMin(e.utm_source, timestamp) AS utm_source, argMin(utm_medium, timestamp) AS medium,
           argMin(utm_campaign, timestamp) AS campaign, argMin(e.utm_content, timestamp) AS content,
           argMinIf(path, timestamp, name = 'pageview') AS entry_path, any(device_type) AS device_type,
           any(browser) AS browser, any(os) AS os, max(is_bot) AS is_bot, 1 AS sign, count() AS version
    FROM `${db}`.`events` AS e GROUP BY site, session_id""",
            """INSERT INTO `${db}`.`daily_events`
    SELECT site, toDate(timestamp) AS day, name, path, count() AS events, uniqCombinedState(12)(visitor_id) AS visitors
    FROM `${db}`.`events` GROUP BY site, day, name, path""",
            """CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`daily_events_view`
TO `${db}`.`daily_events` AS
    SELECT site, toDate(timestamp) AS day, name, path, count() AS events, uniqCombinedState(12)(visitor_id) AS visitors
    FROM `${db}`.`events` GROUP BY site, day, name, path""",
        ),
    },
    # stored session length (3891da7)
    "3891da7": {
        4: (
            """CREATE TABLE IF NOT EXISTS `${db}`.`sessions`
(
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
    visitors AggregateFunction(uniqCombined(12), UUID)
    )
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, name, path)
TTL day + INTERVAL ${retention_months} MONTH DELETE""",
            """INSERT INTO `${db}`.`sessions`
    SELECT site, toDate(min(timestamp)) AS day, session_id, any(visitor_id) AS visitor_id, min(timestamp) AS started,
           max(timestamp) AS ended, countIf(name = 'pageview') AS pageviews, count() AS events,
           countIf(name != 'pageview') AS conversions,
           sumMapIf(map(name, toUInt32(1)), name != 'pageview') AS converted,
           argMin(if(e.utm_source != '', e.utm_source, if(referrer_host != '', referrer_host, '(direct)')), timestamp)
               AS source,
           argMin(e.utm_source, timestamp) AS utm_source, argMin(utm_medium, timestamp) AS medium,
           argMin(utm_campaign, timestamp) AS campaign, argMin(e.utm_content, timestamp) AS content,
           argMinIf(path, timestamp, name = 'pageview') AS entry_path, any(device_type) AS device_type,
           any(browser) AS browser, any(os) AS os, max(is_bot) AS is_bot, 1 AS sign, count() AS version
    FROM `${db}`.`events` AS e GROUP BY site, session_id""",
            """INSERT INTO `${db}`.`daily_events`
    SELECT site, toDate(timestamp) AS day, name, path, count() AS events, uniqCombinedState(12)(visitor_id) AS visitors
    FROM `${db}`.`events` GROUP BY site, day, name, path""",
            """CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`daily_events_view`
TO `${db}`.`daily_events` AS
    SELECT site, toDate(timestamp) AS day, name, path, count() AS events, uniqCombinedState(12)(visitor_id) AS visitors
    FROM `${db}`.`events` GROUP BY site, day, name, path""",
        ),
    },
    # entry pages as LowCardinality (36214df)
    "36214df": {
        4: (
            """CREATE TABLE IF NOT EXISTS `${db}`.`sessions`
(
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
    visitors AggregateFunction(uniqCombined(12), UUID)
    )
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, name, path)
TTL day + INTERVAL ${retention_months} MONTH DELETE""",
            """INSERT INTO `${db}`.`sessions`
    SELECT site, toDate(min(timestamp)) AS day, session_id, any(visitor_id) AS visitor_id, min(timestamp) AS started,
           max(timestamp) AS ended, countIf(name = 'pageview') AS pageviews, count() AS events,
           countIf(name != 'pageview') AS conversions,
           sumMapIf(map(name, toUInt32(1)), name != 'pageview') AS converted,
           argMin(if(e.utm_source != '', e.utm_source, if(referrer_host != '', referrer_host, '(direct)')), timestamp)
               AS source,
           argMin(e.utm_source, timestamp) AS utm_source, argMin(utm_medium, timestamp) AS medium,
           argMin(utm_campaign, timestamp) AS campaign, argMin(e.utm_content, timestamp) AS content,
           argMinIf(path, timestamp, name = 'pageview') AS entry_path, any(device_type) AS device_type,
           any(browser) AS browser, any(os) AS os, max(is_bot) AS is_bot, 1 AS sign, count() AS version
    FROM `${db}`.`events` AS e GROUP BY site, session_id""",
            """INSERT INTO `${db}`.`daily_events`
    SELECT site, toDate(timestamp) AS day, name, path, count() AS events, uniqCombinedState(12)(visitor_id) AS visitors
    FROM `${db}`.`events` GROUP BY site, day, name, path""",
            """CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`daily_events_view`
TO `${db}`.`daily_events` AS
    SELECT site, toDate(timestamp) AS day, name, path, count() AS events, uniqCombinedState(12)(visitor_id) AS visitors
    FROM `${db}`.`events` GROUP BY site, day, name, path""",
        ),
    },
    # entry page times, deduplicated outbox and trackers (0f368ec)
    "0f368ec": {
        4: (
            """CREATE TABLE IF NOT EXISTS `${db}`.`sessions`
(
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
    visitors AggregateFunction(uniqCombined(12), UUID)
    )
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site, day, name, path)
TTL day + INTERVAL ${retention_months} MONTH DELETE""",
            """INSERT INTO `${db}`.`sessions` SELECT * FROM (
    SELECT site, toDate(min(timestamp)) AS day, session_id, any(visitor_id) AS visitor_id, min(timestamp) AS started,
           max(timestamp) AS ended, countIf(name = 'pageview') AS pageviews, count() AS events,
           countIf(name != 'pageview') AS conversions,
           sumMapIf(map(name, toUInt32(1)), name != 'pageview') AS converted,
           argMin(if(e.utm_source != '', e.utm_source, if(referrer_host != '', referrer_host, '(direct)')), timestamp)
               AS source,
           argMin(e.utm_source, timestamp) AS utm_source, argMin(utm_medium, timestamp) AS medium,
           argMin(utm_campaign, timestamp) AS campaign, argMin(e.utm_content, timestamp) AS content,
           argMinIf(path, timestamp, name = 'pageview') AS entry_path,
           minIf(timestamp, name = 'pageview') AS entry_at, any(device_type) AS device_type,
           any(browser) AS browser, any(os) AS os, max(is_bot) AS is_bot, 1 AS sign, count() AS version
    FROM `${db}`.`events` AS e GROUP BY site, session_id) WHERE (SELECT count() FROM `${db}`.`sessions`) = 0""",
            """INSERT INTO `${db}`.`daily_events` SELECT * FROM (
    SELECT site, toDate(timestamp) AS day, name, path, count() AS events, uniqCombinedState(12)(visitor_id) AS visitors
    FROM `${db}`.`events` GROUP BY site, day, name, path) WHERE (SELECT count() FROM `${db}`.`daily_events`) = 0""",
            """CREATE MATERIALIZED VIEW IF NOT EXISTS `${db}`.`daily_events_view`
TO `${db}`.`daily_events` AS
    SELECT site, toDate(timestamp) AS day, name, path, count() AS events, uniqCombinedState(12)(visitor_id) AS visitors
    FROM `${db}`.`events` GROUP BY site, day, name, path""",
        ),
        5: (
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
            """ALTER TABLE `${db}`.`outbox` MODIFY SETTING non_replicated_deduplication_window = 10000""",
        ),
        6: (
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
            """ALTER TABLE `${db}`.`tracker_scans` MODIFY SETTING non_replicated_deduplication_window = 10000""",
            """ALTER TABLE `${db}`.`tracker_findings` MODIFY SETTING non_replicated_deduplication_window = 10000""",
        ),
    },
}
# The last migration each of those builds had.
LATEST = {"384b182": 4, "bc86aca": 4, "333dd82": 5, "3891da7": 5, "36214df": 6, "0f368ec": 7}
