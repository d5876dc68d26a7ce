"""Server-side enrichment: a validated wire event plus what the request tells us becomes a stored row."""

import os
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec

from collector.useragent import parse_agent
from collector.wire import InvalidInput, WireEvent
from warehouse.events import ANONYMOUS, EventRow

CLICK_IDS = ("gclid", "fbclid", "ttclid", "msclkid", "li_fat_id")
_CAMPAIGN_PARAMETERS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
_MAX_QUERY_PARAMS = 64
_CLIENT_CLOCK_PAST = timedelta(hours=24)
_CLIENT_CLOCK_FUTURE = timedelta(minutes=5)


class _RandomIds:
    """Random (version 4) UUIDs from the OS's secure source, read in bulk: one read per 256 ids, not one each.

    Under load the per-id read showed as a seventh of a worker's time.
    """

    _BATCH = 256

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0
        os.register_at_fork(after_in_child=self._forget)  # a forked child must not repeat our ids

    def _forget(self) -> None:
        self._pool, self._at = b"", 0

    def __call__(self) -> uuid.UUID:
        if self._at >= len(self._pool):
            self._pool, self._at = os.urandom(16 * self._BATCH), 0
        chunk = self._pool[self._at:self._at + 16]
        self._at += 16
        return uuid.UUID(bytes=chunk, version=4)


new_id = _RandomIds()


def visit_id(started: datetime, random_bits: int) -> uuid.UUID:
    """A UUIDv7 (RFC 9562) for a visit: its start in milliseconds, then the low bits of `random_bits`.

    The warehouse keys each visit on the time in its id, so the visit counts on the day it started.
    """
    milliseconds = int(started.timestamp() * 1000)
    value = (milliseconds << 80) | (random_bits & ((1 << 80) - 1))
    value = (value & ~(0xF << 76)) | (7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # the RFC variant
    return uuid.UUID(int=value)


def visit_start(visit: uuid.UUID) -> datetime | None:
    """When a visit whose id `visit_id` minted started; None for an id of another version."""
    if visit.version != 7:
        return None
    return datetime.fromtimestamp((visit.int >> 80) / 1000, UTC)


class Consent(msgspec.Struct, frozen=True):
    analytics: bool
    ads: bool


class Visit(msgspec.Struct, frozen=True, kw_only=True):
    """What one request says about its sender, shared by every event in it."""

    received_at: datetime
    client_ip: str
    user_agent: str
    visitor_id: uuid.UUID
    session_id: uuid.UUID
    consent: Consent
    gpc: bool = False
    """The browser's Sec-GPC header, which counts as much as the event's own flag."""
    dnt: bool = False


def enrich(event: WireEvent, visit: Visit, index: int = 0) -> EventRow:
    """The stored row for `event`; `InvalidInput` names the field if its URL is unusable."""
    url, host = _split_url(event.url, f"[{index}].url")
    referrer_host = _split_url(event.referrer, f"[{index}].referrer")[1] if event.referrer else ""
    query = dict(parse_qsl(url.query, keep_blank_values=True)[:_MAX_QUERY_PARAMS]) if url.query else {}
    click_type = next((name for name in CLICK_IDS if query.get(name)), "")
    timestamp = _event_time(event.ts, visit.received_at)
    agent = parse_agent(visit.user_agent)
    gpc, dnt = event.gpc or visit.gpc, event.dnt or visit.dnt
    full_url, referrer = event.url, event.referrer
    if not visit.consent.analytics:
        # Without analytics consent nothing links this request to another: no ids, address, agent or click id.
        visit = msgspec.structs.replace(visit, visitor_id=ANONYMOUS, session_id=ANONYMOUS, client_ip="::",
                                        user_agent="")
        agent = msgspec.structs.replace(agent, browser_version="", os_version="")
        query = {key: value for key, value in query.items() if key in _CAMPAIGN_PARAMETERS}  # no click or user ids
        full_url = urlunsplit(url._replace(query=urlencode(query), fragment=""))
        referrer = f"https://{referrer_host}/" if referrer_host else ""
    return EventRow(
        event_id=new_id(),
        client_event_id=event.id,
        site=event.site,
        name=event.name,
        timestamp=timestamp,
        received_at=visit.received_at,
        url=full_url,
        host=host,
        path=url.path or "/",
        query_params=query,
        referrer=referrer,
        referrer_host=referrer_host,
        utm_source=query.get("utm_source", ""),
        utm_medium=query.get("utm_medium", ""),
        utm_campaign=query.get("utm_campaign", ""),
        utm_term=query.get("utm_term", ""),
        utm_content=query.get("utm_content", ""),
        click_id_type=click_type,
        click_id=query.get(click_type, "") if click_type else "",
        visitor_id=visit.visitor_id,
        session_id=visit.session_id,
        client_ip=visit.client_ip,
        user_agent=visit.user_agent,
        browser=agent.browser,
        browser_version=agent.browser_version,
        os=agent.os,
        os_version=agent.os_version,
        device_type=agent.device_type,
        is_bot=agent.is_bot,
        consent_analytics=visit.consent.analytics,
        # A browser that signals GPC or DNT has not consented to ads, whatever was recorded.
        consent_ads=visit.consent.ads and not (gpc or dnt),
        gpc=gpc,
        dnt=dnt,
        props={key: _prop_text(value) for key, value in event.props.items()},
    )


def _split_url(text: str, field: str) -> tuple[SplitResult, str]:
    """The URL's parts and its lower-case host; `InvalidInput` unless it is an absolute http(s) URL."""
    try:
        parts = urlsplit(text)
        host = parts.hostname  # already lower-cased
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise InvalidInput(field, "expected an absolute http(s) URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidInput(field, "expected an absolute http(s) URL")
    return parts, host


def _event_time(client_ms: int | None, received_at: datetime) -> datetime:
    """The client's clock when it is plausible (beacons can be late), else the receive time."""
    if client_ms is None:
        return received_at
    try:
        client = datetime.fromtimestamp(client_ms / 1000, UTC)
    except (OverflowError, ValueError, OSError):
        return received_at
    if received_at - _CLIENT_CLOCK_PAST <= client <= received_at + _CLIENT_CLOCK_FUTURE:
        return client
    return received_at


def _prop_text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
