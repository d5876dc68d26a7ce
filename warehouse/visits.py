"""Visits: the events of one `sluice_sid` cookie, folded by ClickHouse into one row of merged states.

A materialized view on `events` (`schema.VISITS_VIEW`) writes, per insert, one row of states per visit in
it; background merges and every report fold a visit's rows, in any order and from any number of writers,
to the same answer. There is no read before write. A visit is keyed and counted on its start, the time in
its UUIDv7 id, whatever day its later events fall on. It is credited to its first event (by time, then
event id): its UTM source, else its referrer's host, else "(direct)"; its entry page is its first page
view, so a late batch from before what was known takes over both.

Counts are sums, made exactly-once by the insert token within the deduplication window (10,000 inserts
per table): a segment replayed after that many later inserts would count its events twice.
"""

from datetime import datetime
from uuid import UUID

import msgspec
from clickhouse_connect.driver.client import Client

from warehouse.events import UnreadableRows, insert_lines

# How a query reads the folded states of one visit's rows (in a GROUP BY of the visit): the first event's
# values after its 51-character key (15 digits of milliseconds and an event id), split into [source,
# utm_source, medium, campaign, content, device_type, browser, os]; and the entry page after its key.
FIRST_VALUES = "splitByChar('\\0', substring(min(first), 52))"
ENTRY_PATH = "substring(min(entry), 53)"


class _Event(msgspec.Struct, frozen=True):
    """The fields a stored event must have for its visit."""

    event_id: UUID
    site: str
    name: str
    timestamp: datetime
    session_id: UUID
    visitor_id: UUID


_events = msgspec.json.Decoder(_Event)


def store_events(client: Client, lines: bytes, token: str) -> None:
    """Insert events (JSON lines), and so their visits; the same token again stores nothing."""
    try:
        _events.decode_lines(lines)
    except msgspec.DecodeError as exc:
        raise UnreadableRows(f"not event rows: {exc}") from exc
    insert_lines(client, "events", lines, token=token)
