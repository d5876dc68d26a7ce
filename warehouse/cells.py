"""Report cells of closed days: each visit report's figures per day, read instead of folding every visit.

A day is closed once it has ended. `refresh` computes a report's cells of each closed day that has none, or
whose visits or the report's definition changed since, under a new generation. It then records the day's
fingerprint from `visit_days` (its visits' event count and a hash sum over them, kept by a view): as read
before computing, equal to the same sums over `visits` then, and unchanged after. A report uses a day's
cells only while that fingerprint still matches; it folds every other day (today, a day a late batch
reached) from the visits themselves, as it does for any filtered report. So a late batch counts as soon as
it is stored, and any number of refreshers give the same answers. The reports are the visit reports
(`VisitReport`) and each goal's figures (`warehouse.goals.GoalCells`): any `CellReport`.

Which cells are current changes once a day or when a batch comes late, so a report need not wait for the
check: it runs on the check's last answer while the check is made again beside it, and runs again only
where that answer changed (`on_fresh_cells`).
"""

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple, Protocol, TypeVar

import msgspec
from clickhouse_connect.driver.client import Client

from warehouse import beside

CLOSED_AFTER = timedelta(days=1)
_CHUNK_DAYS = 31
"""Closed days computed per query: a first refresh after an upgrade folds the visits of a month at a time."""
_STATES = frozenset({"visitors"})
"""Cell columns that hold aggregate states; those of `_FLOATS` hold sums of money; the others are counts."""
_FLOATS = frozenset({"value"})
UNCOMPILED = {"compile_expressions": 0, "compile_aggregate_expressions": 0, "compile_sort_description": 0}
"""Settings of the queries a person waits on: the engine compiles an expression once it has seen it three times,
which made that call of each report 100 to 200 ms slower than the others, to gain under 10 % on later ones."""
_FEW_ROWS = {"max_threads": 1}
"""For the check of current days, and a period's stored cells with at most `_FEW_DAYS` folded: on a few
thousand rows a second thread costs more to start and merge than it saves (5 to 10 ms of 15 to 30 here)."""
_FEW_DAYS = 2
_FEW_ROWS_DAYS = 62
"""Periods measured on one thread (`bench/reports.py` reads 30 days); a longer one keeps the engine's threads."""
_T = TypeVar("_T")
Fresh = dict[str, dict[date, int]]
"""Per report's name, the days of a period whose cells are current, with their generation."""

_FINGERPRINTS = """
    SELECT day, sum(events) AS stored_events, sum(fingerprint) AS stored_fingerprint
    FROM visit_days WHERE site = {site:String} AND day BETWEEN {start:Date} AND {end:Date} GROUP BY day"""
# The same figures from `visits` itself: a refresh computes only days where the two agree, so no insert that
# `visit_days` already shows can be missing from the visits it computes from.
_FINGERPRINTS_OF_VISITS = """
    SELECT toDate(start) AS day, sum(events), sum(cityHash64(session_id) * events)
    FROM visits WHERE site = {site:String} AND toDate(start) BETWEEN {start:Date} AND {end:Date} GROUP BY day"""
_RECORDED = """
    SELECT day, max(generation) AS latest, argMax(events, generation) AS recorded_events,
           argMax(fingerprint, generation) AS recorded_fingerprint
    FROM visit_cell_days WHERE site = {site:String} AND report = {report:String} AND definition = {definition:String}
         AND day BETWEEN {start:Date} AND {end:Date} GROUP BY day"""
_RECORDED_OF_MANY = """
    SELECT report, day, max(generation) AS latest, argMax(events, generation) AS recorded_events,
           argMax(fingerprint, generation) AS recorded_fingerprint
    FROM visit_cell_days WHERE site = {site:String} AND (report, definition) IN {reports:Array(Tuple(String, String))}
         AND day BETWEEN {start:Date} AND {end:Date} GROUP BY report, day"""
_FRESH = f"""
    SELECT recorded.report, recorded.day, recorded.latest FROM ({_RECORDED_OF_MANY}) AS recorded
    INNER JOIN ({_FINGERPRINTS}) AS stored
    ON recorded.day = stored.day AND recorded.recorded_events = stored.stored_events
       AND recorded.recorded_fingerprint = stored.stored_fingerprint"""


class CellReport(Protocol):
    """What `refresh` computes cells of: a name, the cell columns it fills, and the query that fills them."""

    @property
    def name(self) -> str: ...

    @property
    def measures(self) -> dict[str, str]: ...

    @property
    def definition(self) -> str:
        """Changes with whatever changes the cells, so cells of an earlier definition are computed again."""

    @property
    def parameters(self) -> dict[str, Any]:
        """What `select` binds besides the site and its days."""

    def select(self, days: str, *, by_day: bool = False, filtered: str = "") -> str:
        """The cells of the visits that started on `days` (an `Array(Date)` expression), per `key` and with
        `by_day` per `day`; `filtered` narrows the visits (a condition on `visits`)."""


class VisitReport(msgspec.Struct, frozen=True, kw_only=True):
    """A report on visits: what it folds per visit, the key it groups by, and what each cell adds up."""

    name: str
    folded: str
    """Columns of one visit, folded from its rows of states."""
    key: str
    """An array of strings per visit (or per row of `array_join`)."""
    measures: dict[str, str]
    """Cell column to its aggregate over the folded visits of one key."""
    array_join: str = ""
    where: str = ""

    def select(self, days: str, *, by_day: bool = False, filtered: str = "") -> str:
        day = "day, " if by_day else ""
        where = f" WHERE {self.where}" if self.where else ""
        return (f"SELECT {day}CAST({self.key} AS Array(String)) AS key, {typed(self.measures)} FROM ("
                f"SELECT toDate(start) AS day, {self.folded} FROM visits WHERE site = {{site:String}} "
                f"AND toDate(start) IN {days}{filtered} GROUP BY day, session_id){self.array_join}{where} "
                f"GROUP BY {day}key")

    @property
    def definition(self) -> str:
        return hashlib.sha256(self.select("").encode()).hexdigest()[:16]

    @property
    def parameters(self) -> dict[str, Any]:
        return {}


def typed(measures: dict[str, str]) -> str:
    """SQL: each measure as the type of its cell column."""
    def cast(column: str, expression: str) -> str:
        if column in _STATES:
            return expression
        return f"toFloat64({expression})" if column in _FLOATS else f"toUInt64({expression})"
    return ", ".join(f"{cast(column, expression)} AS {column}" for column, expression in measures.items())


class Period(NamedTuple):
    """A subquery of a report's cells over a period, with its parameters and the settings to run it with."""

    sql: str
    parameters: dict[str, Any]
    settings: dict[str, Any]


def period(report: VisitReport, start: date, end: date, fresh: dict[date, int], filtered: str = "") -> Period:
    """`report`'s cells over a period: the stored cells of the days that still match their visits (`fresh`, as
    `fresh_cells` found them), the other days folded. A `filtered` condition on visits folds every day."""
    parameters: dict[str, Any] = {"report": report.name}
    days = days_of(start, end)
    if filtered:
        folded = report.select("{period_days:Array(Date)}", filtered=filtered)
        return Period(f"({folded})", parameters | {"period_days": days}, {})
    stored = (f"SELECT key, {', '.join(report.measures)} FROM visit_cells WHERE site = {{site:String}} "
              f"AND report = {{report:String}} AND day BETWEEN {{start:Date}} AND {{end:Date}} "
              f"AND (day, generation) IN {{stored_cells:Array(Tuple(Date, UInt64))}}")
    # The days left are given as a list, not a NOT IN, so that the table's key narrows the fold to them.
    folded = report.select("{folded_days:Array(Date)}")
    folded_days = [day for day in days if day not in fresh]
    parameters |= {"stored_cells": sorted(fresh.items()), "folded_days": folded_days}
    few = len(folded_days) <= _FEW_DAYS and len(days) <= _FEW_ROWS_DAYS
    return Period(f"({stored} UNION ALL {folded})", parameters, _FEW_ROWS if few else {})


def days_of(start: date, end: date) -> list[date]:
    """Every day from `start` to `end`, both included."""
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def current_days(client: Client, report: CellReport, site: str, start: date, end: date) -> set[date]:
    """The days of a period that `report` reads from stored cells now."""
    return set(fresh_cells(client, [report], site, start, end).get(report.name, {}))


def fresh_cells(client: Client, reports: Sequence[CellReport], site: str, start: date, end: date) -> Fresh:
    """Per report, the days of a period whose latest cells match what their visits hold now, with that generation."""
    parameters = {"site": site, "start": start, "end": end,
                  "reports": [(report.name, report.definition) for report in reports]}
    fresh: Fresh = {}
    rows = client.query(_FRESH, parameters=parameters, settings=_FEW_ROWS | UNCOMPILED).result_rows
    for name, day, generation in rows:
        fresh.setdefault(name, {})[day] = generation
    return fresh


def on_fresh_cells(client: Client, reports: Sequence[CellReport], site: str, start: date, end: date,
                   run: Callable[[Fresh], _T]) -> _T:
    """`run` on the fresh cells of `reports` over a period, made on their last check's answer where it can
    (`warehouse.beside.checked`)."""
    key = ("fresh cells", site, start, end, tuple((report.name, report.definition) for report in reports))
    return beside.checked(client, key, lambda other: fresh_cells(other, reports, site, start, end), run)


def refresh(client: Client, site: str, reports: Sequence[CellReport], today: date | None = None) -> list[date]:
    """Compute the cells of every closed day of `site` whose visits changed since its last cells; return the days
    recorded (a day whose visits changed while it was computed is left for the next refresh)."""
    closed = (today or datetime.now(UTC).date()) - CLOSED_AFTER
    bounds = {"site": site, "start": date(1970, 1, 1), "end": closed}
    stored = _fingerprints(client, bounds)
    settled = _fingerprints(client, bounds, _FINGERPRINTS_OF_VISITS)
    stored = {day: fingerprint for day, fingerprint in stored.items() if settled.get(day) == fingerprint}
    computed = set()
    for report in reports:
        recorded = _recorded(client, report, bounds)
        stale = [day for day in sorted(stored) if recorded.get(day) != stored[day]]
        for chunk in _chunks(stale, _CHUNK_DAYS):
            computed.update(_compute(client, site, report, {day: stored[day] for day in chunk}))
    return sorted(computed)


def _compute(client: Client, site: str, report: CellReport, days: dict[date, tuple[int, int]]) -> list[date]:
    """Compute `report`'s cells of `days`, and record those whose visits did not change meanwhile."""
    generation, columns = time.time_ns(), ", ".join(report.measures)
    client.command(
        f"INSERT INTO visit_cells (site, day, generation, report, key, {columns}) "
        f"SELECT {{site:String}}, day, {{generation:UInt64}}, {{report:String}}, key, {columns} "
        f"FROM ({report.select('{days:Array(Date)}', by_day=True)})",
        parameters=report.parameters | {"site": site, "generation": generation, "report": report.name,
                                        "days": list(days)},
        settings={"async_insert": 0})
    after = _fingerprints(client, {"site": site, "start": min(days), "end": max(days)})
    unchanged = {day: before for day, before in days.items() if after.get(day) == before}
    if not unchanged:
        return []
    computed_at = datetime.now(UTC)
    client.insert(
        "visit_cell_days",
        [[site, report.name, day, generation, report.definition, events, fingerprint, computed_at]
         for day, (events, fingerprint) in unchanged.items()],
        column_names=["site", "report", "day", "generation", "definition", "events", "fingerprint", "computed_at"],
        settings={"async_insert": 0})
    return list(unchanged)


def _fingerprints(client: Client, bounds: dict[str, Any], sql: str = _FINGERPRINTS) -> dict[date, tuple[int, int]]:
    """Per day, what its visits hold now: their event count and a hash sum over them."""
    rows = client.query(sql, parameters=bounds).result_rows
    return {day: (events, fingerprint) for day, events, fingerprint in rows}


def _recorded(client: Client, report: CellReport, bounds: dict[str, Any]) -> dict[date, tuple[int, int]]:
    """Per day, the fingerprint that the latest cells of `report` were computed from."""
    rows = client.query(_RECORDED, parameters=bounds | {"report": report.name, "definition": report.definition})
    return {day: (events, fingerprint) for day, _, events, fingerprint in rows.result_rows}


def _chunks(items: list, size: int) -> Iterable[list]:
    return (items[i:i + size] for i in range(0, len(items), size))
