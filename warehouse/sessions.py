"""Sessions kept up to date as events are stored, so reports read one row per session.

A session is credited to its first event: its UTM source, else its referrer's host, else
"(direct)"; its entry page is its first page view. Each batch of events replaces the state of the
sessions it touches with a cancelling row (sign -1) and a new row (sign +1, a higher version).
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from uuid import UUID

import msgspec
from clickhouse_connect.driver.client import Client

from warehouse.events import UnreadableRows, encode_rows, insert_lines

# The same session from stored events, for the migration that creates the table.
BACKFILL = """
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
    FROM {events} AS e GROUP BY site, session_id"""
# A session's events all arrive within a day of its start unless a client clock is a day off.
_SESSION_DAYS = timedelta(days=1)


class SessionRow(msgspec.Struct, frozen=True, kw_only=True):
    """One state of a session, exactly as the `sessions` table stores it."""

    site: str
    day: date
    session_id: UUID
    visitor_id: UUID
    started: datetime
    ended: datetime
    pageviews: int
    events: int
    conversions: int
    converted: dict[str, int]
    """Conversions by event name."""
    source: str
    """Its UTM source, else its referrer's host, else "(direct)"."""
    utm_source: str
    medium: str
    campaign: str
    content: str
    entry_path: str
    entry_at: datetime
    """When its entry page was viewed: a late, earlier page view takes the entry's place."""
    device_type: str
    browser: str
    os: str
    is_bot: bool
    sign: int = 1
    version: int = 0
    """The number of events folded in so far: it grows with every change."""


class _Event(msgspec.Struct, frozen=True):
    """The fields of a stored event that a session needs."""

    site: str
    name: str
    timestamp: datetime
    session_id: UUID
    visitor_id: UUID
    path: str
    referrer_host: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_content: str
    device_type: str
    browser: str
    os: str
    is_bot: bool


_events = msgspec.json.Decoder(_Event)


def store_events(client: Client, lines: bytes, token: str) -> None:
    """Insert events (JSON lines) and fold them into their sessions; the same token again stores nothing."""
    try:
        events = _events.decode_lines(lines)
    except msgspec.DecodeError as exc:
        raise UnreadableRows(f"not event rows: {exc}") from exc
    insert_lines(client, "events", lines, token=token)
    if not events:
        return
    by_session: dict[UUID, list[_Event]] = defaultdict(list)
    for event in events:
        by_session[event.session_id].append(event)
    current = _current(client, events)
    rows: list[SessionRow] = []
    for session_id, new in by_session.items():
        old = current.get(session_id)
        if old is not None:
            rows.append(msgspec.structs.replace(old, sign=-1))
        rows.append(fold(old, new))
    # A replay after a crash finds the sessions already updated, computes other rows, and the token drops them.
    insert_lines(client, "sessions", encode_rows(rows), token=token)


def fold(old: SessionRow | None, events: list[_Event]) -> SessionRow:
    """The session `old` (None: a new one) after `events` of it."""
    first = min(events, key=_time)
    first_view = min((e for e in events if e.name == "pageview"), key=_time, default=None)
    views = sum(e.name == "pageview" for e in events)
    if old is None:
        old = SessionRow(site=first.site, day=first.timestamp.date(), session_id=first.session_id,
                         visitor_id=first.visitor_id, started=first.timestamp, ended=first.timestamp, pageviews=0,
                         events=0, conversions=0, converted={}, source="", utm_source="", medium="", campaign="", content="",
                         entry_path="", entry_at=first.timestamp,
                         device_type=first.device_type, browser=first.browser, os=first.os, is_bot=False)
    if first.timestamp <= old.started:  # new, or a late event from before what was known of it
        old = msgspec.structs.replace(old, day=first.timestamp.date(), started=first.timestamp, source=_source(first),
                                      utm_source=first.utm_source, medium=first.utm_medium,
                                      campaign=first.utm_campaign, content=first.utm_content)
    entry, entry_at = old.entry_path, old.entry_at
    if first_view is not None and (not entry or first_view.timestamp < entry_at):
        entry, entry_at = first_view.path, first_view.timestamp
    return msgspec.structs.replace(
        old,
        ended=max(old.ended, *(e.timestamp for e in events)),
        pageviews=old.pageviews + views,
        events=old.events + len(events),
        conversions=old.conversions + len(events) - views,
        converted=_counted(old.converted, (e.name for e in events if e.name != "pageview")),
        entry_path=entry,
        entry_at=entry_at,
        is_bot=old.is_bot or any(e.is_bot for e in events),
        sign=1,
        version=old.events + len(events),
    )


def _current(client: Client, events: list[_Event]) -> dict[UUID, SessionRow]:
    """The latest state of the sessions these events belong to, for those already stored."""
    days = [e.timestamp.date() for e in events]
    result = client.query(
        "SELECT * FROM sessions WHERE site IN {sites:Array(String)} AND day BETWEEN {first:Date} AND {last:Date} "
        "AND session_id IN {ids:Array(UUID)} AND sign = 1 ORDER BY version DESC LIMIT 1 BY session_id",
        parameters={"sites": sorted({e.site for e in events}), "first": min(days) - _SESSION_DAYS,
                    "last": max(days) + _SESSION_DAYS, "ids": sorted({e.session_id for e in events})},
    )
    rows = (SessionRow(**dict(zip(result.column_names, row, strict=True))) for row in result.result_rows)
    return {row.session_id: row for row in rows}


def _counted(counts: dict[str, int], names: Iterable[str]) -> dict[str, int]:
    merged = dict(counts)
    for name in names:
        merged[name] = merged.get(name, 0) + 1
    return merged


def _source(event: _Event) -> str:
    return event.utm_source or event.referrer_host or "(direct)"


def _time(event: _Event) -> datetime:
    return event.timestamp
