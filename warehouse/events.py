"""Rows of the events and consent tables, and their column-oriented, idempotent inserts."""

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import msgspec
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from warehouse.errors import WarehouseError, first_line

_PARSE_ERRORS = ("CANNOT_PARSE", "INCORRECT_DATA", "Cannot parse")


class EventRow(msgspec.Struct, frozen=True, kw_only=True):
    """One enriched event, exactly as the `events` table stores it."""

    event_id: UUID
    client_event_id: str
    site: str
    name: str
    timestamp: datetime
    received_at: datetime
    url: str
    host: str
    path: str
    query_params: dict[str, str]
    referrer: str
    referrer_host: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_term: str
    utm_content: str
    click_id_type: str
    click_id: str
    visitor_id: UUID
    session_id: UUID
    client_ip: str
    """IPv4 or IPv6 text; the table stores it as IPv6."""
    user_agent: str
    browser: str
    browser_version: str
    os: str
    os_version: str
    device_type: str
    is_bot: bool
    consent_analytics: bool
    consent_ads: bool
    gpc: bool
    dnt: bool
    props: dict[str, str]


ANONYMOUS = UUID(int=0)
"""The visitor and visit id of an event stored without analytics consent: it links to nothing."""
IDENTIFIED = "visitor_id != toUUID('00000000-0000-0000-0000-000000000000')"
"""SQL: the event was stored with analytics consent, so it has a visitor (and a visit)."""
MEASUREMENTS = ("pageview", "engagement", "outbound-link", "file-download", "404", "form-submit")
"""Events the snippet sends by itself: page views and what its extensions measure. Every other event is a
conversion; a goal (`warehouse.goals`) can make one of these count as one."""
CONVERSION = f"name NOT IN {MEASUREMENTS!r}"
"""SQL: the event is a conversion."""
ENGAGED_MS = "least(toUInt64OrZero(props['engaged_ms']), 1800000)"
"""SQL: an engagement event's visible time, capped at 30 minutes so that no one browser moves a page's far."""
SCROLL = "least(toUInt64OrZero(props['scroll']), 100)"
"""SQL: an engagement event's scroll depth, capped at 100 %."""


class ConsentRow(msgspec.Struct, frozen=True, kw_only=True):
    """One recorded consent choice; the latest per visitor is the one in force."""

    site: str
    visitor_id: UUID
    recorded_at: datetime
    analytics: bool
    ads: bool
    policy_version: str
    source: str


_lines = msgspec.json.Encoder()


class UnreadableRows(WarehouseError):
    """Rows the warehouse cannot parse; retrying them would fail the same way."""


def encode_rows(rows: Sequence[msgspec.Struct]) -> bytes:
    """Rows as newline-delimited JSON, the form the spool keeps and the warehouse ingests."""
    return _lines.encode_lines(rows)


def insert_lines(client: Client, table: str, lines: bytes, token: str) -> None:
    """Insert newline-delimited JSON rows, parsed by the engine itself.

    Re-inserting with the same token is a no-op, so replaying a spool segment stores nothing twice.
    """
    if not lines:
        return
    settings = {
        "insert_deduplication_token": token,
        "insert_deduplicate": 1,
        # The views fed by the insert (visits, daily events) drop a repeated block too.
        "deduplicate_blocks_in_dependent_materialized_views": 1,
        "async_insert": 0,  # an async insert would ignore the token
        "date_time_input_format": "best_effort",
    }
    try:
        client.raw_insert(table, insert_block=lines, fmt="JSONEachRow", settings=settings)
    except ClickHouseError as exc:
        if any(marker in str(exc) for marker in _PARSE_ERRORS):
            raise UnreadableRows(first_line(exc)) from exc
        raise


def count_events(client: Client) -> int:
    return client.command("SELECT count() FROM events")
