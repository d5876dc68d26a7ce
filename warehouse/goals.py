"""Goals: named conversions an analyst defines, as an event's name or a page path pattern, kept append-only.

A goal is completed by each event of its name, or each page view whose path matches its pattern (`*` stands
for any characters). Its report credits a completion to the visit it happened in, as every visit report
does: to the visit's source, campaign, entry page and device. Each goal's figures per closed day are cells
(`warehouse.cells`), so that a report need not scan every page view of its period for a page goal.
"""

import hashlib
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from collections.abc import Sequence
from typing import Any, ClassVar
from uuid import UUID

import msgspec
from clickhouse_connect.driver.client import Client

from warehouse.cells import typed
from warehouse.events import IDENTIFIED
from warehouse.privacy import masked_path_sql
from warehouse.visits import ENTRY_PATH, FIRST_VALUES

MAX_GOALS = 50
"""Goals a site may have: each is one condition of every goal report's scan."""
BREAKDOWNS = {"source": "first[1]", "campaign": "first[4]", "entry_page": "entry_page", "device_type": "first[6]"}
"""Dimensions of the visit a completion is credited to, over its first event's values and its entry page."""
_MEASURES = {"converted": "count()", "conversions": "sum(times)", "value": "sum(worth)"}


class GoalKind(StrEnum):
    EVENT = "event"
    PAGE = "page"


class Goal(msgspec.Struct, frozen=True, kw_only=True):
    goal_id: UUID
    site: str
    name: str
    kind: GoalKind
    pattern: str
    """The event's name, or the path pattern of the page."""
    value: float
    """What one completion is worth, where its event carries no `value` property of its own."""
    author: str
    created_at: datetime

    def condition(self, parameter: str) -> str:
        """SQL: an event completes this goal (its pattern bound as `parameter`)."""
        if self.kind is GoalKind.EVENT:
            return f"name = {{{parameter}:String}}"
        return f"name = 'pageview' AND path LIKE {{{parameter}:String}}"

    def bound(self) -> str:
        """The value bound for `condition`: a path pattern as LIKE reads it."""
        if self.kind is GoalKind.EVENT:
            return self.pattern
        return self.pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%")


_CURRENT = """
    SELECT goal_id, any(site), argMax(name, changed_at), argMax(kind, changed_at), argMax(pattern, changed_at),
           argMax(value, changed_at), argMin(changed_by, changed_at), min(changed_at) AS created,
           argMax(deleted, changed_at) AS removed
    FROM goals WHERE site = {site:String} GROUP BY goal_id HAVING NOT removed ORDER BY created LIMIT 1000"""
_COLUMNS = ["goal_id", "site", "name", "kind", "pattern", "value", "deleted", "changed_at", "changed_by"]


class Goals:
    """The goals of every site in the warehouse."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def of(self, site: str) -> list[Goal]:
        """A site's goals, oldest first."""
        rows = self._client.query(_CURRENT, parameters={"site": site}).result_rows
        return [Goal(goal_id=i, site=s, name=n, kind=GoalKind(k), pattern=p, value=v, author=a, created_at=c)
                for i, s, n, k, p, v, a, c, _ in rows]

    def add(self, site: str, name: str, kind: GoalKind, pattern: str, value: float, author: str) -> Goal:
        goal = Goal(goal_id=uuid.uuid4(), site=site, name=name, kind=kind, pattern=pattern, value=value,
                    author=author, created_at=datetime.now(UTC))
        self._append(goal, deleted=False, by=author)
        return goal

    def remove(self, goal: Goal, by: str) -> None:
        self._append(goal, deleted=True, by=by)

    def _append(self, goal: Goal, *, deleted: bool, by: str) -> None:
        row = [goal.goal_id, goal.site, goal.name, str(goal.kind), goal.pattern, goal.value, deleted,
               datetime.now(UTC), by]
        self._client.insert("goals", [row], column_names=_COLUMNS, settings={"async_insert": 0})


def completions(goals: list[Goal], where: str) -> tuple[str, dict[str, Any]]:
    """SQL: each event of `where` that completes a goal, as its `session_id`, the goal's index (from 1) as `goal`
    and its `worth`; and the parameters it binds. Event goals and page goals are read apart, so that the page
    views a page goal scans never read their properties."""
    parameters = {f"goal{i}": goal.bound() for i, goal in enumerate(goals)}
    parameters |= {f"goal_value{i}": goal.value for i, goal in enumerate(goals)}
    values = f"[{', '.join(f'{{goal_value{i}:Float64}}' for i in range(len(goals)))}][goal]"
    arms = []
    # An event's own value, where it is a number from 0 to a million (no browser can skew a goal's value further).
    own = "toFloat64OrNull(props['value'])"
    carried = f"if(isFinite(ifNull({own}, nan)) AND {own} BETWEEN 0 AND 1e6, {own}, {values})"
    for kind, worth in ((GoalKind.EVENT, carried), (GoalKind.PAGE, values)):
        chosen = [(i, goal) for i, goal in enumerate(goals) if goal.kind is kind]
        if chosen:
            matched = ", ".join(f"if({goal.condition(f'goal{i}')}, {i + 1}, 0)" for i, goal in chosen)
            either = " OR ".join(f"({goal.condition(f'goal{i}')})" for i, goal in chosen)
            arms.append(f"SELECT session_id, arrayJoin(arrayFilter(g -> g > 0, [{matched}])) AS goal, {worth} AS worth "
                        f"FROM events WHERE {where} AND ({either})")
    return " UNION ALL ".join(arms), parameters


def goal_cells(goals: list[Goal], days: str, *, by_day: bool = False, filtered: str = "",
               breakdowns: Sequence[str] = tuple(BREAKDOWNS)) -> tuple[str, dict[str, Any]]:
    """SQL: per goal (its index from 1) and `key` (`[dimension, value]` of each of `breakdowns`, and `['', '']`
    for every visit), the visits that started on `days` (an `Array(Date)` expression) and completed it, its
    completions and their value; and the parameters it binds. A visit's completions are read up to the day
    after it started."""
    # Written so that the table's key narrows the scan to those days (an array built from `days` would not).
    on_days = f"(toDate(timestamp) IN {days} OR toDate(timestamp) - 1 IN {days})"
    hits, parameters = completions(goals, f"site = {{site:String}} AND {on_days} AND {IDENTIFIED}")
    day = "day, " if by_day else ""
    keys = "".join(f", ('{name}', {BREAKDOWNS[name]})" for name in breakdowns)
    # A visit's first values and entry page are folded only where a breakdown needs them.
    folded = f", {FIRST_VALUES} AS first, {masked_path_sql(ENTRY_PATH)} AS entry_page" if breakdowns else ""
    visits = (f"SELECT toDate(start) AS day, session_id{folded} FROM visits WHERE site = {{site:String}} "
              f"AND toDate(start) IN {days}{filtered} GROUP BY day, session_id")
    return f"""
        SELECT {day}goal, [breakdown.1, breakdown.2] AS key, {typed(_MEASURES)}
        FROM (SELECT session_id, goal, count() AS times, sum(worth) AS worth FROM ({hits}) GROUP BY session_id, goal)
             AS hit INNER JOIN ({visits}) AS visit USING session_id
        ARRAY JOIN [('', ''){keys}] AS breakdown WHERE breakdown.1 = '' OR breakdown.2 != ''
        GROUP BY {day}goal, key""", parameters


class GoalCells(msgspec.Struct, frozen=True):
    """One goal's figures per closed day, as `warehouse.cells` computes and checks them."""

    goal: Goal
    measures: ClassVar[dict[str, str]] = _MEASURES

    @property
    def name(self) -> str:
        return f"goal:{self.goal.goal_id}"

    @property
    def parameters(self) -> dict[str, Any]:
        return goal_cells([self.goal], "")[1]

    @property
    def definition(self) -> str:
        defined = (self.select(""), str(self.goal.kind), self.goal.pattern, repr(self.goal.value))
        return hashlib.sha256("\0".join(defined).encode()).hexdigest()[:16]

    def select(self, days: str, *, by_day: bool = False, filtered: str = "") -> str:
        return goal_cells([self.goal], days, by_day=by_day, filtered=filtered)[0]
