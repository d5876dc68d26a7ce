"""Conversion cells of one window, computed in one query: what the forwarder may release.

Only non-bot conversions of visitors with ads consent, and no GPC or DNT signal, count: consent as stamped
on the event when it was collected and, if the visitor has recorded a choice since, as that latest choice
says when the cells are computed (a withdrawal before dispatch wins). Except on opt-out sites, that latest
recorded choice must grant ads. A conversion counts only after a page view of the same visitor earlier in
its session (looked up from a day before the window starts), as a person's visit has.
Each conversion goes to the visitor's last non-direct visit that started within the lookback;
each visitor then counts in one cell per signal (that of their last conversion in the window),
with conversions and value clamped, so one person moves a cell by a bounded amount.
"""

from datetime import datetime
from typing import Any

import msgspec
from clickhouse_connect.driver.client import Client

from warehouse.events import IDENTIFIED
from warehouse.privacy import spreadsheet_cell
from warehouse.visits import FIRST_VALUES

NONE = "(none)"
OTHER = "(other)"
# Where each dimension comes from: the attributed visit (t) or the conversion event (c).
_SOURCES = {
    "utm_source": "t.utm_source", "utm_medium": "t.medium", "utm_campaign": "t.campaign", "utm_content": "t.content",
    "site": "c.site", "device_type": "c.device_type",
}
_COUNTED = f"NOT is_bot AND consent_ads AND NOT gpc AND NOT dnt AND {IDENTIFIED}"
# Visitors whose latest recorded choice refuses ads (of two at one instant, the refusal).
_NOT_WITHDRAWN = """
    (site, visitor_id) GLOBAL NOT IN (SELECT site, visitor_id FROM consent GROUP BY site, visitor_id
                               HAVING NOT argMax(ads, (recorded_at, NOT ads)))"""
# Visitors whose latest recorded choice grants ads.
_GRANTED = """
    (site, visitor_id) GLOBAL IN (SELECT site, visitor_id FROM consent GROUP BY site, visitor_id
                                  HAVING argMax(ads, (recorded_at, NOT ads)))"""
# Counted conversions of the window, each after a page view of its session.
_CONVERSIONS = f"""
    SELECT e.visitor_id AS visitor_id, e.timestamp AS timestamp, e.name AS name, e.site AS site,
           e.device_type AS device_type, e.props AS props
    FROM (SELECT visitor_id, session_id, timestamp, name, site, device_type, props FROM events
          WHERE timestamp >= {{start:DateTime}} AND timestamp < {{end:DateTime}} AND name IN {{events:Array(String)}}
            AND {_COUNTED} AND {_NOT_WITHDRAWN} AND (site IN {{opt_out:Array(String)}} OR {_GRANTED})) AS e
    INNER JOIN (SELECT site, session_id, visitor_id, min(timestamp) AS first_view FROM events
                WHERE timestamp >= {{start:DateTime}} - INTERVAL 1 DAY AND timestamp < {{end:DateTime}}
                  AND name = 'pageview' AND {IDENTIFIED} GROUP BY site, session_id, visitor_id) AS v
    ON e.site = v.site AND e.session_id = v.session_id AND e.visitor_id = v.visitor_id
    WHERE v.first_view <= e.timestamp"""
_LIMITS = {"max_execution_time": 60, "max_memory_usage": 4 * 2**30}


class SignalSpec(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    event: str
    dimensions: tuple[str, ...]
    value_property: str = ""
    value_cap: float = 0.0


class Cell(msgspec.Struct, frozen=True, kw_only=True):
    signal: str
    dimensions: dict[str, str]
    visitors: int
    conversions: int
    value: float


def window_cells(client: Client, start: datetime, end: datetime, signals: list[SignalSpec],
                 values: dict[str, list[str]], patterns: dict[str, str], lookback_days: int,
                 max_per_visitor: int, opt_out_sites: frozenset[str] = frozenset()) -> list[Cell]:
    """Every cell of every signal with conversions in [start, end), true counts, sorted; a dimension with declared
    `values` or `patterns` keeps only those (a pattern matches the whole value), others read `(other)`."""
    if not signals:
        return []
    dimensions = sorted({d for s in signals for d in s.dimensions})
    parameters: dict[str, Any] = {"start": start, "end": end, "lookback": lookback_days, "per_visitor": max_per_visitor,
                                  "events": [s.event for s in signals], "opt_out": sorted(opt_out_sites)}
    signal_of, value_of, cap_of = [], [], []
    for i, spec in enumerate(signals):
        parameters |= {f"event{i}": spec.event, f"name{i}": spec.name, f"prop{i}": spec.value_property,
                       f"cap{i}": spec.value_cap}
        signal_of += [f"c.name = {{event{i}:String}}", f"{{name{i}:String}}"]
        value_of += [f"c.name = {{event{i}:String}}",
                     _amount(f"toFloat64OrZero(c.props[{{prop{i}:String}}])") if spec.value_property else "0."]
        cap_of += [f"signal = {{name{i}:String}}", f"{{cap{i}:Float64}}"]
    # A conversion whose last campaign visit started before the lookback has no campaign.
    direct = "t.started < c.timestamp - INTERVAL {lookback:UInt16} DAY"
    columns = []
    for d in dimensions:
        parameters[f"has_{d}"] = [s.name for s in signals if d in s.dimensions]
        source = f"if({direct}, '', {_SOURCES[d]})" if _SOURCES[d].startswith("t.") else _SOURCES[d]
        value = f"if({source} = '', '{NONE}', {source})"
        declared = []
        if d in values:
            parameters[f"values_{d}"] = values[d]
            declared.append(f"{value} IN {{values_{d}:Array(String)}}")
        if d in patterns:
            parameters[f"pattern_{d}"] = f"^(?:{patterns[d]})$"
            declared.append(f"match({value}, {{pattern_{d}:String}})")
        if declared:
            value = f"if({' OR '.join(declared)} OR {value} = '{NONE}', {value}, '{OTHER}')"
        columns.append(f"if(signal IN {{has_{d}:Array(String)}}, {value}, '') AS {d}")
    dims = ", ".join(dimensions) or "signal"
    result = client.query(f"""
        SELECT signal, {", ".join(dimensions) + "," if dimensions else ""} count() AS visitors,
               sum(conversions) AS conversions, sum(value) AS value
        FROM (
            SELECT visitor_id, signal, {", ".join(f"argMax({d}, timestamp) AS {d}" for d in dimensions) + ","
                                        if dimensions else ""}
                   least(count(), {{per_visitor:UInt32}}) AS conversions,
                   least(sum(value), multiIf({", ".join(cap_of)}, 0.)) AS value
            FROM (
                SELECT c.visitor_id AS visitor_id, c.timestamp AS timestamp,
                       multiIf({", ".join(signal_of)}, '') AS signal,
                       multiIf({", ".join(value_of)}, 0.) AS value,
                       {", ".join(columns) or "1 AS unused"}
                FROM ({_CONVERSIONS}) AS c
                ASOF LEFT JOIN (
                    SELECT visitor_id, started, first[2] AS utm_source, first[3] AS medium,
                           first[4] AS campaign, first[5] AS content
                    FROM (SELECT min(visitor_id) AS visitor_id, min(started) AS started,
                                 {FIRST_VALUES} AS first
                          FROM visits
                          WHERE toDate(start) BETWEEN toDate({{start:DateTime}}) - {{lookback:UInt16}}
                                                  AND toDate({{end:DateTime}})
                          GROUP BY site, session_id)
                    WHERE first[1] != '(direct)'
                ) AS t ON c.visitor_id = t.visitor_id AND c.timestamp >= t.started
            )
            GROUP BY visitor_id, signal
        )
        GROUP BY signal, {dims} ORDER BY signal, {dims}""", parameters=parameters, settings=_LIMITS)
    cells = []
    for row in result.result_rows:
        signal, *values, visitors, conversions, value = row
        spec = next(s for s in signals if s.name == signal)
        named = dict(zip(dimensions, values, strict=True))
        # A value that a spreadsheet would run is quoted for every destination: files and webhooks end up in one.
        cells.append(Cell(signal=signal, dimensions={d: spreadsheet_cell(named[d]) for d in spec.dimensions},
                          visitors=visitors, conversions=conversions, value=round(value, 2)))
    return cells


def withdrawn_since(client: Client, start: datetime, end: datetime, events: list[str], since: datetime) -> bool:
    """Whether a visitor with counted conversions in [start, end) has refused ads since `since`, by their latest
    recorded choice: the cells computed before then counted them, so they must not be sent."""
    return bool(client.command(f"""
        SELECT count() FROM (
            SELECT site, visitor_id FROM consent GROUP BY site, visitor_id
            HAVING NOT argMax(ads, (recorded_at, NOT ads)) AND max(recorded_at) >= {{since:DateTime64(6)}})
        WHERE (site, visitor_id) GLOBAL IN (
            SELECT site, visitor_id FROM events WHERE timestamp >= {{start:DateTime}} AND timestamp < {{end:DateTime}}
                   AND name IN {{events:Array(String)}} AND {_COUNTED})""",
        parameters={"start": start, "end": end, "events": events, "since": since}))


def _amount(value: str) -> str:
    """A value from an event's properties as an amount: finite and not negative, else nothing."""
    return f"if(isFinite({value}) AND {value} > 0, {value}, 0.)"


def window_identifiers(client: Client, start: datetime, end: datetime, events: list[str],
                       lookback_days: int) -> set[str]:
    """The raw identifiers of the window's conversions, and the click ids of their visitors' visits within
    the lookback (where a cell's campaign comes from): no request may carry any of them."""
    rows = client.query("""
        WITH converted AS (
            SELECT visitor_id, session_id, click_id FROM events
            WHERE timestamp >= {start:DateTime} AND timestamp < {end:DateTime} AND name IN {events:Array(String)})
        SELECT DISTINCT arrayJoin([toString(visitor_id), toString(session_id), click_id]) FROM converted
        UNION DISTINCT
        SELECT DISTINCT click_id FROM events
        WHERE timestamp >= {start:DateTime} - INTERVAL {lookback:UInt16} DAY AND timestamp < {end:DateTime}
          AND click_id != '' AND visitor_id IN (SELECT visitor_id FROM converted)""",
                        parameters={"start": start, "end": end, "events": events, "lookback": lookback_days},
                        settings=_LIMITS).result_rows
    return {row[0] for row in rows if row[0]}
