"""The reports marketers read: every query here, parameters bound by the server, limits on each.

Conversions are the events other than the snippet's own measurements (`warehouse.events.MEASUREMENTS`).
Session reports read the `visits` rollup (a visit counts in the period it started, credited as
`warehouse.visits` says), through the cells of closed days where they are current (`warehouse.cells`);
page counts read `daily_events`, daily and per-event counts `daily_names`. Filters select visits: those with
an event that matches every filter, looked up in the events table. Paths read as `warehouse.privacy` masks
them, for every role. Visitor counts are estimates (`uniqCombined(12)`: exact up to about 150, then within a
few percent; the README gives the measured errors), as in other web analytics, so that rollups merge fast.
Events stored without analytics consent count in page and event totals, never as a visit or a visitor.
"""

import hashlib
import hmac
from datetime import date, datetime, timedelta
from ipaddress import IPv4Address, IPv6Address, ip_network
from typing import Any
from uuid import UUID

import msgspec
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.query import QueryResult

from warehouse import beside, cells
from warehouse.events import ANONYMOUS, CONVERSION, ENGAGED_MS, IDENTIFIED, SCROLL
from warehouse.cells import VisitReport
from warehouse.goals import Goal, GoalCells, Goals, goal_cells
from warehouse.privacy import FREE_TEXT, masked_path, masked_path_sql, masked_value, masked_value_sql
from warehouse.visits import ENTRY_PATH, FIRST_VALUES

_WORDS = r"^[\w .:/+-]{1,200}$"
# Dimensions a report may be filtered on (the keys are what the API accepts), each with the values it allows.
FILTERS = {
    "source": r"^[\w .:/+()-]{1,200}$",
    "utm_source": _WORDS, "utm_medium": _WORDS, "utm_campaign": _WORDS, "device_type": r"^[a-z]{1,20}$",
    "browser": _WORDS, "os": _WORDS, "path": r"^/[\w./~%-]{0,250}$", "referrer_host": r"^[A-Za-z0-9.-]{1,253}$",
    "name": r"^[A-Za-z0-9_.:-]{1,64}$",
}
# Dimensions of a visit rather than of its events, as the visit reports credit them: the source of its first event.
_OF_VISITS = {"source": f"{FIRST_VALUES}[1]"}
_LIMITS = {
    "max_execution_time": 10,
    "max_result_rows": 100_000,
    "result_overflow_mode": "throw",
    "max_memory_usage": 2 * 2**30,
    "max_rows_to_read": 500_000_000,
} | cells.UNCOMPILED
_EVERY_DAY = "WITH FILL FROM {start:Date} TO {end:Date} + 1"
# Pages as every report shows them: a segment that looks like a record or account number reads `*`.
_MASKED_PATH = masked_path_sql("path")
# Visitors among events: those stored without analytics consent have no visitor to count.
_VISITORS = f"uniqCombinedIf(12)(visitor_id, {IDENTIFIED})"
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


_VISITOR = "uniqCombinedState(12)(visitor)"
_OVERVIEW = VisitReport(
    name="overview",
    folded=f"min(visitor_id) AS visitor, sum(pageviews) AS visit_views, sum(conversions) AS visit_conversions, "
           f"{_SECONDS} AS visit_seconds",
    key="[]",
    measures={"visitors": _VISITOR, "sessions": "count()", "pageviews": "sum(visit_views)",
              "bounces": "countIf(visit_views = 1)", "seconds": "sum(visit_seconds)",
              "conversions": "sum(visit_conversions)", "converted": "countIf(visit_conversions > 0)"},
)
_SOURCES = VisitReport(
    name="sources",
    folded=f"min(visitor_id) AS visitor, {FIRST_VALUES}[1] AS source, sum(conversions) AS visit_conversions",
    key="[source]",
    measures={"visitors": _VISITOR, "sessions": "count()", "conversions": "sum(visit_conversions)"},
)
_CAMPAIGNS = VisitReport(
    name="campaigns",
    folded=f"{FIRST_VALUES} AS first, sum(conversions) AS visit_conversions",
    key="[first[4], first[1], first[3]]",
    where="first[4] != ''",
    measures={"sessions": "count()", "conversions": "sum(visit_conversions)"},
)
_ENTRY_PAGES = VisitReport(
    name="entry-pages",
    folded=f"{masked_path_sql(ENTRY_PATH)} AS path",
    key="[path]",
    where="path != ''",
    measures={"sessions": "count()"},
)
_CONVERSIONS = VisitReport(
    name="conversions",
    folded=f"min(visitor_id) AS visitor, {FIRST_VALUES} AS first, sumMap(converted) AS by_name",
    array_join=" ARRAY JOIN mapKeys(by_name) AS conversion, mapValues(by_name) AS times",
    key="[conversion, first[4], first[1]]",
    measures={"visitors": _VISITOR, "conversions": "sum(times)"},
)
_DEVICES = VisitReport(
    name="devices",
    folded=f"min(visitor_id) AS visitor, {FIRST_VALUES} AS first, sum(events) AS visit_events",
    key="[first[6], first[7], first[8]]",
    measures={"visitors": _VISITOR, "sessions": "count()", "events": "sum(visit_events)"},
)
_VISIT_REPORTS = (_OVERVIEW, _SOURCES, _CAMPAIGNS, _ENTRY_PAGES, _CONVERSIONS, _DEVICES)


def refresh_cells(client: Client, site: str) -> list[date]:
    """Compute the cells of the visit reports and goals of the closed days that changed (see `warehouse.cells`);
    return those days."""
    return cells.refresh(client, site, [*_VISIT_REPORTS, *(GoalCells(goal) for goal in Goals(client).of(site))])


def overview(client: Client, query: ReportQuery) -> Overview:
    row = _visit_query(client, query, _OVERVIEW, """
        SELECT uniqCombinedMerge(12)(visitors), sum(sessions), sum(pageviews), sum(bounces), sum(seconds),
               sum(conversions), sum(converted) FROM {cells}""").result_rows[0]
    visitors, sessions, pageviews, bounces, seconds, conversions, converted = row
    per_session = max(sessions, 1)
    return Overview(visitors=visitors, sessions=sessions, pageviews=pageviews,
                    bounce_rate=round(bounces / per_session, 4), session_seconds=round(seconds / per_session, 1),
                    conversions=conversions, conversion_rate=round(converted / per_session, 4))


def timeseries(client: Client, query: ReportQuery) -> list[dict[str, Any]]:
    if query.filters:
        return _table(client, f"""
            SELECT toDate(timestamp) AS day, {_VISITORS} AS visitors,
                   countIf(name = 'pageview') AS pageviews, countIf({CONVERSION}) AS conversions
            FROM events WHERE {_where(query)} GROUP BY day ORDER BY day {_EVERY_DAY}""", query)
    return _table(client, f"""
        SELECT day, uniqCombinedMerge(12)(visitors) AS visitors, sumIf(events, name = 'pageview') AS pageviews,
               sumIf(events, {CONVERSION}) AS conversions
        FROM daily_names WHERE {_days()} GROUP BY day ORDER BY day {_EVERY_DAY}""", query)


def sources(client: Client, query: ReportQuery) -> list[dict[str, Any]]:
    return _visit_table(client, query, _SOURCES, """
        SELECT key[1] AS source, uniqCombinedMerge(12)(visitors) AS visitors, sum(sessions) AS sessions,
               sum(conversions) AS conversions
        FROM {cells} GROUP BY source ORDER BY visitors DESC, source LIMIT 100""")


def campaigns(client: Client, query: ReportQuery) -> list[dict[str, Any]]:
    return _visit_table(client, query, _CAMPAIGNS, """
        SELECT key[1] AS campaign, key[2] AS source, key[3] AS medium, sum(sessions) AS sessions,
               sum(conversions) AS conversions
        FROM {cells} GROUP BY campaign, source, medium ORDER BY sessions DESC, campaign, source, medium LIMIT 100""")


def pages(client: Client, query: ReportQuery) -> list[dict[str, Any]]:
    """Page views per page, with the engaged time and scroll depth the snippet measured there per view."""
    if query.filters:
        return _table(client, f"""
            SELECT {_MASKED_PATH} AS path, countIf(name = 'pageview') AS pageviews,
                   uniqCombinedIf(12)(visitor_id, {IDENTIFIED} AND name = 'pageview') AS visitors,
                   {_per_view(f"sumIf({ENGAGED_MS}, name = 'engagement')", f"sumIf({SCROLL}, name = 'engagement')")}
            FROM events WHERE {_where(query)} AND name IN ('pageview', 'engagement')
            GROUP BY path HAVING pageviews > 0 ORDER BY pageviews DESC, path LIMIT 100""", query)
    return _table(client, f"""
        SELECT {_MASKED_PATH} AS path, sumIf(events, name = 'pageview') AS pageviews,
               uniqCombinedMergeIf(12)(visitors, name = 'pageview') AS visitors,
               {_per_view("sumIf(engaged_ms, name = 'engagement')", "sumIf(scroll, name = 'engagement')")}
        FROM daily_events WHERE {_days()} AND name IN ('pageview', 'engagement')
        GROUP BY path HAVING pageviews > 0 ORDER BY pageviews DESC, path LIMIT 100""", query)


def _per_view(engaged_ms: str, scroll: str) -> str:
    """A page's engaged seconds and scroll depth (%) per view, NULL where the snippet measured neither; capped like
    one event's, since engagement events need no page view of their own."""
    return (f"nullIf(round(least({engaged_ms} / pageviews / 1000, 1800), 1), 0) AS engaged_seconds, "
            f"nullIf(round(least({scroll} / pageviews, 100)), 0) AS scroll_depth")


def entry_pages(client: Client, query: ReportQuery) -> list[dict[str, Any]]:
    return _visit_table(client, query, _ENTRY_PAGES, """
        SELECT key[1] AS path, sum(sessions) AS sessions FROM {cells}
        GROUP BY path ORDER BY sessions DESC, path LIMIT 100""")


def conversions(client: Client, query: ReportQuery) -> list[dict[str, Any]]:
    """Conversions by name and by the campaign and source of the visit they happened in."""
    return _visit_table(client, query, _CONVERSIONS, """
        SELECT key[1] AS conversion, key[2] AS campaign, key[3] AS source, sum(conversions) AS conversions,
               uniqCombinedMerge(12)(visitors) AS visitors
        FROM {cells} GROUP BY conversion, campaign, source ORDER BY conversions DESC, conversion, campaign, source
        LIMIT 200""")


def devices(client: Client, query: ReportQuery) -> list[dict[str, Any]]:
    return _visit_table(client, query, _DEVICES, """
        SELECT key[1] AS device_type, key[2] AS browser, key[3] AS os, uniqCombinedMerge(12)(visitors) AS visitors,
               sum(events) AS events
        FROM {cells} GROUP BY device_type, browser, os ORDER BY visitors DESC, device_type, browser, os LIMIT 200""")


# The dimensions a goal breaks down by (`warehouse.goals.BREAKDOWNS`), each with the visit report whose cells
# count the period's visits per value.
GOAL_BREAKDOWNS = {"source": _SOURCES, "campaign": _CAMPAIGNS, "entry_page": _ENTRY_PAGES, "device_type": _DEVICES}


def goals(client: Client, query: ReportQuery, by: str = "") -> list[dict[str, Any]]:
    """Per goal of the site (and per value of a `GOAL_BREAKDOWNS` dimension), the visits of the period that
    completed it, its completions and their value, and the share of the period's visits that converted."""
    # Goals change seldom: they are listed beside the report, as its cells are checked.
    return beside.checked(client, ("goals", query.site), lambda other: Goals(other).of(query.site),
                          lambda defined: _goals(client, query, defined, by))


def _goals(client: Client, query: ReportQuery, defined: list[Goal], by: str) -> list[dict[str, Any]]:
    if not defined:
        return []
    reports, denominators = [GoalCells(goal) for goal in defined], GOAL_BREAKDOWNS[by] if by else _OVERVIEW

    def figures(fresh: cells.Fresh) -> tuple[list[tuple], dict[str, int]]:
        visits = beside.run(client, lambda other: _visits_by(other, query, denominators,
                                                             fresh.get(denominators.name, {})))
        return _goal_figures(client, query, reports, by, fresh), visits.result()

    # The denominators' cells are checked with the goals' own, in one query.
    rows, visits = figures({}) if query.filters else cells.on_fresh_cells(
        client, [*reports, denominators], query.site, query.start, query.end, figures)
    table = [{"goal": defined[index - 1].name, **({by: key} if by else {}), "visits": visits.get(key, 0),
              "converted": converted, "conversions": conversions, "value": round(value, 2),
              "conversion_rate": round(converted / max(visits.get(key, 0), converted, 1), 4)}
             for key, index, converted, conversions, value in rows]
    return sorted(table, key=lambda row: (-row["converted"], row["goal"], row.get(by, "")))[:500]


def _goal_figures(client: Client, query: ReportQuery, reports: list[GoalCells], by: str,
                  fresh: dict[str, dict[date, int]]) -> list[tuple]:
    """Per value of `by` and goal (its index in `reports`, from 1): converted visits, completions and value; read
    from each goal's cells of the closed days that are `fresh`, the other days folded."""
    days = cells.days_of(query.start, query.end)
    stored = [(report.name, day, generation) for report in reports
              for day, generation in fresh.get(report.name, {}).items()]
    folded = [(index, day) for index, report in enumerate(reports, 1) for day in days
              if day not in fresh.get(report.name, {})]
    fold, parameters = goal_cells([report.goal for report in reports], "{folded_days:Array(Date)}", by_day=True, filtered=_filtered_visits(query),
                                  breakdowns=[by] if by else [])
    arms = []
    if stored:
        arms.append("""SELECT indexOf({goal_cells:Array(String)}, report) AS goal, key, converted, conversions, value
                       FROM visit_cells WHERE site = {site:String} AND report IN {goal_cells:Array(String)}
                       AND day BETWEEN {start:Date} AND {end:Date} AND key[1] = {by:String}
                       AND (report, day, generation) IN {stored_cells:Array(Tuple(String, Date, UInt64))}""")
    if folded:
        arms.append(f"""SELECT goal, key, converted, conversions, value FROM ({fold})
                        WHERE key[1] = {{by:String}} AND (goal, day) IN {{folded_cells:Array(Tuple(UInt8, Date))}}""")
    parameters |= {"by": by, "goal_cells": [report.name for report in reports], "stored_cells": stored,
                   "folded_cells": folded, "folded_days": sorted({day for _, day in folded})}
    return _rows(client, f"""SELECT key[2], goal, sum(converted), sum(conversions), sum(value)
                             FROM ({" UNION ALL ".join(arms)}) GROUP BY key[2], goal""", query, parameters)


def _visits_by(client: Client, query: ReportQuery, report: VisitReport, fresh: dict[date, int]) -> dict[str, int]:
    """The period's visits per value of `report`'s first key (all under "" for a report without keys)."""
    result = _visit_query(client, query, report, "SELECT key[1] AS value, sum(sessions) FROM {cells} GROUP BY value",
                          fresh)
    return dict(result.result_rows)


def events(client: Client, query: ReportQuery) -> list[dict[str, Any]]:
    """Events other than page views by name (conversions and the snippet's measurements alike), most first."""
    if query.filters:
        return _table(client, f"""
            SELECT name, count() AS events, {_VISITORS} AS visitors FROM events
            WHERE {_where(query)} AND name != 'pageview' GROUP BY name ORDER BY events DESC, name LIMIT 200""", query)
    return _table(client, f"""
        SELECT name, sum(events) AS events, uniqCombinedMerge(12)(visitors) AS visitors FROM daily_names
        WHERE {_days()} AND name != 'pageview' GROUP BY name ORDER BY events DESC, name LIMIT 200""", query)


def properties(client: Client, query: ReportQuery, event: str) -> list[dict[str, Any]]:
    """An event's property values (masked, as every report shows them), and the pages it happened on, with their
    events and visitors: the 50 most frequent values of each property."""
    # Grouped by each value as stored first, then masked: the masks' patterns run once per distinct value.
    masked = f"if(property = 'page', {masked_path_sql('stored')}, {masked_value_sql('stored')})"
    return _table(client, f"""
        SELECT property, {masked} AS value, sum(stored_events) AS events,
               uniqCombinedIfMerge(12)(stored_visitors) AS visitors
        FROM (SELECT pair.1 AS property, pair.2 AS stored, count() AS stored_events,
                     uniqCombinedIfState(12)(visitor_id, {IDENTIFIED}) AS stored_visitors
              FROM events ARRAY JOIN arrayConcat([('page', path)], arrayZip(mapKeys(props), mapValues(props))) AS pair
              WHERE {_where(query)} AND name = {{event:String}} GROUP BY property, stored)
        GROUP BY property, value ORDER BY property = 'page', property, events DESC, value LIMIT 50 BY property""",
        query, {"event": event})


def dimension_values(client: Client, query: ReportQuery) -> dict[str, list[dict[str, Any]]]:
    """Per free-text dimension, the values seen in the period (masked) with their visitors, most first."""
    arms = " UNION ALL ".join(
        f"SELECT '{d}' AS dimension, {masked_value_sql(d)} AS value, visitor_id FROM events "
        f"WHERE {_where(query)} AND {d} != ''" for d in FREE_TEXT)
    rows = _rows(client, f"""
        SELECT dimension, value, {_VISITORS} AS visitors FROM ({arms})
        GROUP BY dimension, value ORDER BY dimension, visitors DESC, value LIMIT 200 BY dimension""", query)
    seen: dict[str, list[dict[str, Any]]] = {d: [] for d in FREE_TEXT}
    for dimension, value, visitors in rows:
        seen[dimension].append({"value": value, "visitors": visitors})
    return seen


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
            FROM events WHERE {_where(query)} AND {IDENTIFIED} AND ({" OR ".join(f"({c})" for c in conditions)})
            GROUP BY session_id
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
        f"SELECT uniqExactIf(visitor_id, {IDENTIFIED}), countIf(name = 'pageview') FROM events WHERE {where}",
        parameters={"site": site}, settings=_LIMITS).result_rows[0]
    top = client.query(
        f"SELECT {_MASKED_PATH} AS path, count() AS pageviews FROM events WHERE {where} AND name = 'pageview' "
        "GROUP BY path ORDER BY pageviews DESC, path LIMIT 10", parameters={"site": site}, settings=_LIMITS)
    return {"visitors": visitors, "pageviews": pageviews,
            "pages": [dict(zip(top.column_names, row, strict=True)) for row in top.result_rows]}


def _visit_table(client: Client, query: ReportQuery, report: VisitReport, sql: str) -> list[dict[str, Any]]:
    return _dicts(_visit_query(client, query, report, sql))


def _visit_query(client: Client, query: ReportQuery, report: VisitReport, sql: str,
                 fresh: dict[date, int] | None = None) -> QueryResult:
    """`sql` over `{cells}`: the report's cells of the period, stored for closed days that are current (`fresh`,
    where the caller checked them already) and folded for the others."""
    def run(current: dict[date, int]) -> QueryResult:
        chosen = cells.period(report, query.start, query.end, current, _filtered_visits(query))
        return client.query(sql.replace("{cells}", chosen.sql), parameters=_parameters(query) | chosen.parameters,
                            settings=_LIMITS | chosen.settings)

    if fresh is not None or query.filters:
        return run(fresh or {})
    return cells.on_fresh_cells(client, [report], query.site, query.start, query.end,
                                lambda current: run(current.get(report.name, {})))


def _days() -> str:
    return "site = {site:String} AND day BETWEEN {start:Date} AND {end:Date}"


def _where(query: ReportQuery) -> str:
    return f"{_period()}{_filtered_visits(query)}"


def _filtered_visits(query: ReportQuery) -> str:
    """The condition that keeps the visits with an event matching every filter, and credited to the source
    filtered on (none without filters)."""
    on_events = sorted(key for key in query.filters if key not in _OF_VISITS)
    on_visits = sorted(key for key in query.filters if key in _OF_VISITS)
    kept = [f" AND session_id IN (SELECT session_id FROM events WHERE {_period()} AND {_matching(on_events)})"
            ] if on_events else []
    if on_visits:
        having = " AND ".join(f"{_OF_VISITS[key]} = {{filter_{key}:String}}" for key in on_visits)
        kept.append(" AND session_id IN (SELECT session_id FROM visits WHERE site = {site:String} AND "
                    f"toDate(start) BETWEEN {{start:Date}} AND {{end:Date}} GROUP BY session_id HAVING {having})")
    return "".join(kept)


def _matching(keys: list[str]) -> str:
    return " AND ".join(f"{key} = {{filter_{key}:String}}" for key in keys)


def _period() -> str:
    return "site = {site:String} AND toDate(timestamp) BETWEEN {start:Date} AND {end:Date}"


def _parameters(query: ReportQuery) -> dict[str, Any]:
    return {"site": query.site, "start": query.start, "end": query.end} | {
        f"filter_{key}": value for key, value in query.filters.items()
    }


def _rows(client: Client, sql: str, query: ReportQuery, extra: dict[str, Any] | None = None) -> list[tuple]:
    return client.query(sql, parameters=_parameters(query) | (extra or {}), settings=_LIMITS).result_rows


def _table(client: Client, sql: str, query: ReportQuery, extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return _dicts(client.query(sql, parameters=_parameters(query) | (extra or {}), settings=_LIMITS))


def _dicts(result: QueryResult) -> list[dict[str, Any]]:
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
    """A keyed hash of the visitor id: the same within one key, unlinkable to the cookie; empty for an event
    stored without analytics consent."""
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
        ORDER BY timestamp DESC, event_id LIMIT {{limit:UInt32}} OFFSET {{offset:UInt32}}""",
                          parameters=_parameters(query) | {"limit": limit, "offset": offset}, settings=_LIMITS)
    total = _rows(client, f"SELECT count() FROM events WHERE {_where(query)}", query)[0][0]
    path, props = fields.index("path") + 1, fields.index("props") + 1
    events = []
    for row in result.result_rows:
        row = list(row)
        row[path], row[props] = masked_path(row[path]), {k: masked_value(v) for k, v in row[props].items()}
        events.append(MaskedEvent(row[0], *row[1:-3], visitor=_pseudonym(key, row[-3]),
                                  session=_pseudonym(key, row[-2]), network=_network(row[-1])))
    return events, total


def _pseudonym(key: bytes, identifier: UUID) -> str:
    if identifier == ANONYMOUS:
        return ""  # stored without analytics consent: there is nobody to name
    return hmac.new(key, identifier.bytes, hashlib.sha256).hexdigest()[:16]


def _network(address: IPv4Address | IPv6Address) -> str:
    if isinstance(address, IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_unspecified:  # cleared after the configured days
        return ""
    return str(ip_network(f"{address}/{24 if address.version == 4 else 48}", strict=False))
