"""The reports marketers read: every query here, parameters bound by the server, limits on each.

Conversions are the events other than page views. Session reports read the `visits` rollup (a
visit counts in the period it started, credited as `warehouse.visits` says); page and daily
counts read `daily_events`. Filters select visits: those with an event that matches every
filter, looked up in the events table. Visitor counts are estimates (`uniqCombined(12)`: exact for
a few hundred, within about 2 % above), as in other web analytics, so that rollups merge fast.
"""

import hashlib
import hmac
import re
from datetime import date, datetime, timedelta
from ipaddress import IPv4Address, IPv6Address, ip_network
from typing import Any
from uuid import UUID

import msgspec
from clickhouse_connect.driver.client import Client

from warehouse.trackers import masked_path
from warehouse.visits import ENTRY_PATH, FIRST_VALUES

_WORDS = r"^[\w .:/+-]{1,200}$"
# Dimensions a report may be filtered on (the keys are what the API accepts), each with the values it allows.
FILTERS = {
    "utm_source": _WORDS, "utm_medium": _WORDS, "utm_campaign": _WORDS, "device_type": r"^[a-z]{1,20}$",
    "browser": _WORDS, "os": _WORDS, "path": r"^/[\w./~%-]{0,250}$", "referrer_host": r"^[A-Za-z0-9.-]{1,253}$",
    "name": r"^[A-Za-z0-9_.:-]{1,64}$",
}
_LIMITS = {
    "max_execution_time": 10,
    "max_result_rows": 100_000,
    "result_overflow_mode": "throw",
    "max_memory_usage": 2 * 2**30,
    "max_rows_to_read": 500_000_000,
}
_EVERY_DAY = "WITH FILL FROM {start:Date} TO {end:Date} + 1"
# A visit's length in whole seconds, from its first event to its last.
_SECONDS = "dateDiff('second', min(started), max(ended))"


class ReportQuery(msgspec.Struct, frozen=True, kw_only=True):
    site: str
    start: date
    end: date
    """Inclusive."""
    filters: dict[str, str] = {}

    def previous(self) -> "ReportQuery":
        """The period of the same length just before this one."""
        length = self.end - self.start + timedelta(days=1)
        return msgspec.structs.replace(self, start=self.start - length, end=self.end - length)


class Overview(msgspec.Struct, frozen=True):
    visitors: int
    sessions: int
    pageviews: int
    bounce_rate: float
    session_seconds: float
    conversions: int
    conversion_rate: float


def overview(client: Client, query: ReportQuery) -> Overview:
    row = _rows(client, f"""
        SELECT uniqCombined(12)(visitor), count(), sum(views), countIf(views = 1), sum(seconds), sum(converted),
               countIf(converted > 0)
        FROM {_visits(query, "min(visitor_id) AS visitor, sum(pageviews) AS views, sum(conversions) AS converted, "
                             f"{_SECONDS} AS seconds")}""", query)[0]
    visitors, sessions, pageviews, bounces, seconds, conversions, converted = row
    per_session = max(sessions, 1)
    return Overview(visitors=visitors, sessions=sessions, pageviews=pageviews,
                    bounce_rate=round(bounces / per_session, 4), session_seconds=round(seconds / per_session, 1),
                    conversions=conversions, conversion_rate=round(converted / per_session, 4))


def timeseries(client: Client, query: ReportQuery) -> list[dict[str, Any]]:
    if query.filters:
        return _table(client, f"""
            SELECT toDate(timestamp) AS day, uniqCombined(12)(visitor_id) AS visitors,
                   countIf(name = 'pageview') AS pageviews, countIf(name != 'pageview') AS conversions
            FROM events WHERE {_where(query)} GROUP BY day ORDER BY day {_EVERY_DAY}""", query)
    return _table(client, f"""
        SELECT day, uniqCombinedMerge(12)(visitors) AS visitors, sumIf(events, name = 'pageview') AS pageviews,
               sumIf(events, name != 'pageview') AS conversions
        FROM daily_events WHERE {_days()} GROUP BY day ORDER BY day {_EVERY_DAY}""", query)


def sources(client: Client, query: ReportQuery) -> list[dict[str, Any]]:
    return _table(client, f"""
        SELECT source, uniqCombined(12)(visitor) AS visitors, count() AS sessions, sum(converted) AS conversions
        FROM {_visits(query, f"min(visitor_id) AS visitor, {FIRST_VALUES}[1] AS source, sum(conversions) AS converted")}
        GROUP BY source ORDER BY visitors DESC, source LIMIT 100""", query)


def campaigns(client: Client, query: ReportQuery) -> list[dict[str, Any]]:
    return _table(client, f"""
        SELECT first[4] AS campaign, first[1] AS source, first[3] AS medium, count() AS sessions,
               sum(converted) AS conversions
        FROM {_visits(query, f"{FIRST_VALUES} AS first, sum(conversions) AS converted")}
        WHERE campaign != ''
        GROUP BY campaign, source, medium ORDER BY sessions DESC, campaign, source, medium LIMIT 100""", query)


def pages(client: Client, query: ReportQuery) -> list[dict[str, Any]]:
    if query.filters:
        return _table(client, f"""
            SELECT path, count() AS pageviews, uniqCombined(12)(visitor_id) AS visitors
            FROM events WHERE {_where(query)} AND name = 'pageview'
            GROUP BY path ORDER BY pageviews DESC, path LIMIT 100""", query)
    return _table(client, f"""
        SELECT path, sum(events) AS pageviews, uniqCombinedMerge(12)(visitors) AS visitors
        FROM daily_events WHERE {_days()} AND name = 'pageview'
        GROUP BY path ORDER BY pageviews DESC, path LIMIT 100""", query)


def entry_pages(client: Client, query: ReportQuery) -> list[dict[str, Any]]:
    return _table(client, f"""
        SELECT path, count() AS sessions FROM {_visits(query, f"{ENTRY_PATH} AS path")}
        WHERE path != '' GROUP BY path ORDER BY sessions DESC, path LIMIT 100""", query)


def conversions(client: Client, query: ReportQuery) -> list[dict[str, Any]]:
    """Conversions by name and by the campaign and source of the visit they happened in."""
    return _table(client, f"""
        SELECT conversion, first[4] AS campaign, first[1] AS source, sum(count) AS conversions,
               uniqCombined(12)(visitor) AS visitors
        FROM {_visits(query, f"min(visitor_id) AS visitor, {FIRST_VALUES} AS first, sumMap(converted) AS by_name")}
        ARRAY JOIN mapKeys(by_name) AS conversion, mapValues(by_name) AS count
        GROUP BY conversion, campaign, source ORDER BY conversions DESC, conversion, campaign, source LIMIT 200""", query)


def devices(client: Client, query: ReportQuery) -> list[dict[str, Any]]:
    return _table(client, f"""
        SELECT first[6] AS device_type, first[7] AS browser, first[8] AS os,
               uniqCombined(12)(visitor) AS visitors, sum(count) AS events
        FROM {_visits(query, f"min(visitor_id) AS visitor, {FIRST_VALUES} AS first, sum(events) AS count")}
        GROUP BY device_type, browser, os ORDER BY visitors DESC, device_type, browser, os LIMIT 200""", query)


def funnel(client: Client, query: ReportQuery, steps: list[str]) -> list[dict[str, Any]]:
    """Sessions reaching each step in order (an event name, or a page path starting with /)."""
    conditions = [
        f"path = {{step{i}:String}} AND name = 'pageview'" if step.startswith("/") else f"name = {{step{i}:String}}"
        for i, step in enumerate(steps)
    ]
    parameters = {f"step{i}": step for i, step in enumerate(steps)}
    reached = _rows(client, f"""
        SELECT level, count() FROM (
            SELECT windowFunnel(86400)(toDateTime(timestamp), {", ".join(conditions)}) AS level
            FROM events WHERE {_where(query)} AND ({" OR ".join(f"({c})" for c in conditions)}) GROUP BY session_id
        ) GROUP BY level""", query, parameters)
    by_level = dict(reached)
    return [{"step": step, "sessions": sum(n for level, n in by_level.items() if level > i)}
            for i, step in enumerate(steps)]


def realtime(client: Client, site: str) -> dict[str, Any]:
    """The last 30 minutes, on receive time: who is on the site now."""
    # Event times are at most a day before their receipt, so the day bound lets the table's order narrow the scan.
    where = ("site = {site:String} AND toDate(timestamp) >= yesterday() "
             "AND received_at >= now64(3) - INTERVAL 30 MINUTE")
    visitors, pageviews = client.query(
        f"SELECT uniqExact(visitor_id), countIf(name = 'pageview') FROM events WHERE {where}",
        parameters={"site": site}, settings=_LIMITS).result_rows[0]
    top = client.query(
        f"SELECT path, count() AS pageviews FROM events WHERE {where} AND name = 'pageview' "
        "GROUP BY path ORDER BY pageviews DESC, path LIMIT 10", parameters={"site": site}, settings=_LIMITS)
    return {"visitors": visitors, "pageviews": pageviews,
            "pages": [dict(zip(top.column_names, row, strict=True)) for row in top.result_rows]}


def _visits(query: ReportQuery, merged: str) -> str:
    """The visits that started in the period, one row each: `merged` folds each visit's rows of states."""
    return (f"(SELECT {merged} FROM visits WHERE site = {{site:String}} AND toDate(start) BETWEEN {{start:Date}} "
            f"AND {{end:Date}}{_filtered_visits(query)} GROUP BY session_id)")


def _days() -> str:
    return "site = {site:String} AND day BETWEEN {start:Date} AND {end:Date}"


def _where(query: ReportQuery) -> str:
    return f"{_period()}{_filtered_visits(query)}"


def _filtered_visits(query: ReportQuery) -> str:
    """The condition that keeps the visits with an event matching every filter (none without filters)."""
    if not query.filters:
        return ""
    return f" AND session_id IN (SELECT session_id FROM events WHERE {_period()} AND {_matching(query)})"


def _matching(query: ReportQuery) -> str:
    return " AND ".join(f"{key} = {{filter_{key}:String}}" for key in sorted(query.filters))


def _period() -> str:
    return "site = {site:String} AND toDate(timestamp) BETWEEN {start:Date} AND {end:Date}"


def _parameters(query: ReportQuery) -> dict[str, Any]:
    return {"site": query.site, "start": query.start, "end": query.end} | {
        f"filter_{key}": value for key, value in query.filters.items()
    }


def _rows(client: Client, sql: str, query: ReportQuery, extra: dict[str, Any] | None = None) -> list[tuple]:
    return client.query(sql, parameters=_parameters(query) | (extra or {}), settings=_LIMITS).result_rows


def _table(client: Client, sql: str, query: ReportQuery) -> list[dict[str, Any]]:
    result = client.query(sql, parameters=_parameters(query), settings=_LIMITS)
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


class MaskedEvent(msgspec.Struct, frozen=True):
    """One event for exploration: what it did, never who did it."""

    time: datetime
    name: str
    path: str
    """Segments that look like a record, account or session number read `*`."""
    referrer_host: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    click_id_type: str
    browser: str
    os: str
    device_type: str
    is_bot: bool
    consent_ads: bool
    gpc: bool
    dnt: bool
    props: dict[str, str]
    """Values that look like an id, an email address or a phone number read `*`."""
    visitor: str
    """A keyed hash of the visitor id: the same within one key, unlinkable to the cookie."""
    session: str
    network: str
    """The client's network: IPv4 /24 or IPv6 /48; empty once the address is cleared."""


def masked_events(
    client: Client, query: ReportQuery, key: bytes, offset: int, limit: int
) -> tuple[list[MaskedEvent], int]:
    """Events of the period, newest first, with identifiers masked; and how many there are."""
    fields = [f for f in MaskedEvent.__struct_fields__ if f not in ("time", "visitor", "session", "network")]
    result = client.query(f"""
        SELECT timestamp, {", ".join(fields)}, visitor_id, session_id, client_ip FROM events WHERE {_where(query)}
        ORDER BY timestamp DESC LIMIT {{limit:UInt32}} OFFSET {{offset:UInt32}}""",
                          parameters=_parameters(query) | {"limit": limit, "offset": offset}, settings=_LIMITS)
    total = _rows(client, f"SELECT count() FROM events WHERE {_where(query)}", query)[0][0]
    path, props = fields.index("path") + 1, fields.index("props") + 1
    events = []
    for row in result.result_rows:
        row = list(row)
        row[path], row[props] = masked_path(row[path]), {k: _masked_value(v) for k, v in row[props].items()}
        events.append(MaskedEvent(row[0], *row[1:-3], visitor=_pseudonym(key, row[-3]),
                                  session=_pseudonym(key, row[-2]), network=_network(row[-1])))
    return events, total


def _masked_value(value: str) -> str:
    """A custom property's value, unless it looks like an id, an email address or a phone number."""
    return "*" if _IDENTIFYING.search(value) else value


_IDENTIFYING = re.compile(r"\d{5,}|@|[0-9a-f]{16,}|\d{3}[ .-]\d{3,4}", re.IGNORECASE)


def _pseudonym(key: bytes, identifier: UUID) -> str:
    return hmac.new(key, identifier.bytes, hashlib.sha256).hexdigest()[:16]


def _network(address: IPv4Address | IPv6Address) -> str:
    if isinstance(address, IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_unspecified:  # cleared after the configured days
        return ""
    return str(ip_network(f"{address}/{24 if address.version == 4 else 48}", strict=False))
