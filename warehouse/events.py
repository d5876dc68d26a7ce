"""Rows of the events and consent tables, and their column-oriented, idempotent inserts."""

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import msgspec
from clickhouse_connect.driver.client import Client


class EventRow(msgspec.Struct, frozen=True, kw_only=True, tag="event"):
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


class ConsentRow(msgspec.Struct, frozen=True, kw_only=True, tag="consent"):
    """One recorded consent choice; the latest per visitor is the one in force."""

    site: str
    visitor_id: UUID
    recorded_at: datetime
    analytics: bool
    ads: bool
    policy_version: str
    source: str


class ConsentState(msgspec.Struct, frozen=True):
    analytics: bool
    ads: bool
    policy_version: str
    recorded_at: datetime


EVENT_COLUMNS = tuple(EventRow.__struct_fields__)
CONSENT_COLUMNS = tuple(ConsentRow.__struct_fields__)


def insert_rows(client: Client, table: str, rows: Sequence[msgspec.Struct], token: str) -> None:
    """Insert column-oriented; re-inserting with the same token is a no-op, so replays are exactly-once."""
    if not rows:
        return
    names = rows[0].__struct_fields__
    columns = [[getattr(row, name) for row in rows] for name in names]
    client.insert(
        table, columns, column_names=names, column_oriented=True, settings={"insert_deduplication_token": token}
    )


def current_consent(client: Client, site: str, visitor_id: UUID) -> ConsentState | None:
    """The visitor's latest recorded choice for the site, if any."""
    rows = client.query(
        "SELECT argMax(analytics, recorded_at), argMax(ads, recorded_at), argMax(policy_version, recorded_at),"
        " max(recorded_at) FROM consent WHERE site = {site:String} AND visitor_id = {visitor:UUID}"
        " HAVING count() > 0",
        parameters={"site": site, "visitor": visitor_id},
    ).result_rows
    return ConsentState(*rows[0]) if rows else None


def count_events(client: Client, site: str | None = None) -> int:
    if site is None:
        return client.command("SELECT count() FROM events")
    return client.command("SELECT count() FROM events WHERE site = {site:String}", parameters={"site": site})
