"""What the website scanner found, scan by scan, and what CSP reports add; alerts sent once per host."""

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

import msgspec
from clickhouse_connect.driver.client import Client

from warehouse.events import encode_rows, insert_lines
from warehouse.privacy import masked_path
from warehouse.schema import TIMES, storable

_HOST = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?")


def page_address(url: str) -> str | None:
    """A page as findings keep it: scheme, host, port and path, ids in the path masked; None if not a web page."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host or not _HOST.fullmatch(host):
        return None
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}{masked_path(parts.path) or '/'}"[:2048]


def host_address(url: str) -> str | None:
    """The host of a web URL, if it is a plausible host name."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    return host if parts.scheme in ("http", "https") and host and _HOST.fullmatch(host) else None


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """A third party one page loads (or a CSP report says it tried to)."""

    scan_id: str
    """Empty for a CSP report."""
    site: str
    page: str
    host: str
    vendor: str
    """The known tracker it belongs to, or empty for an unknown third party."""
    kind: str
    source: str
    seen_at: datetime

    def __post_init__(self) -> None:
        _storable(self.seen_at)


class Scan(msgspec.Struct, frozen=True, kw_only=True):
    scan_id: str
    site: str
    mode: str
    started_at: datetime
    finished_at: datetime
    pages: Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)]

    def __post_init__(self) -> None:
        _storable(self.started_at)
        _storable(self.finished_at)


def _storable(moment: datetime) -> None:
    """A time the warehouse can hold; a scan posted with one from year 305 is refused, not a warehouse failure."""
    if not storable(moment):
        raise ValueError(f"{moment.isoformat()} is not a time {TIMES}")


class HostSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One third-party host of a site, over every scan and report."""

    site: str
    host: str
    vendor: str
    first_seen: datetime
    last_seen: datetime
    pages: list[str]
    """Up to 20 pages that load it."""
    kinds: list[str]
    sources: list[str]


class Change(msgspec.Struct, frozen=True):
    new: list[tuple[str, str, str]]
    """(page, host, vendor) found by this scan and not by the site's previous one."""
    gone: list[tuple[str, str, str]]


class Trackers:
    def __init__(self, client: Client) -> None:
        self._client = client

    def record(self, findings: Sequence[Finding], token: str) -> None:
        insert_lines(self._client, "tracker_findings", encode_rows(findings), token=token)

    def record_scan(self, scan: Scan) -> None:
        insert_lines(self._client, "tracker_scans", encode_rows([scan]), token=f"scan:{scan.scan_id}")

    def change(self, scan: Scan) -> Change:
        """What this scan found that the site's previous scan did not, and what went away."""
        previous = self._client.query(
            "SELECT scan_id FROM tracker_scans WHERE site = {site:String} AND started_at < {at:DateTime64(3)} "
            "ORDER BY started_at DESC LIMIT 1", parameters={"site": scan.site, "at": scan.started_at}).result_rows
        now = self._found(scan.scan_id)
        before = self._found(previous[0][0]) if previous else set()
        return Change(new=sorted(now - before), gone=sorted(before - now))

    def hosts(self, site: str | None = None) -> list[HostSummary]:
        where = "site = {site:String}" if site else "1"
        result = self._client.query(f"""
            SELECT site, host, anyLast(vendor), min(seen_at), max(seen_at), groupUniqArray(20)(page),
                   groupUniqArray(kind), groupUniqArray(source)
            FROM tracker_findings WHERE {where} GROUP BY site, host ORDER BY site, min(seen_at) DESC, host
            LIMIT 5000""", parameters={"site": site or ""})
        return [HostSummary(site=r[0], host=r[1], vendor=r[2], first_seen=r[3], last_seen=r[4], pages=sorted(r[5]),
                            kinds=sorted(r[6]), sources=sorted(r[7])) for r in result.result_rows]

    def latest_scans(self) -> list[Scan]:
        result = self._client.query("SELECT * FROM tracker_scans ORDER BY started_at DESC LIMIT 1 BY site")
        return [Scan(**dict(zip(result.column_names, row, strict=True))) for row in result.result_rows]

    def unalerted(self) -> list[tuple[str, str, str]]:
        """(site, host, vendor) seen at least once and never alerted."""
        return [tuple(row) for row in self._client.query("""
            SELECT site, host, anyLast(vendor) FROM tracker_findings
            WHERE (site, host) NOT IN (SELECT site, host FROM tracker_alerts)
            GROUP BY site, host ORDER BY site, host""").result_rows]

    def alerted(self, site: str, host: str, vendor: str) -> None:
        self._client.insert("tracker_alerts", [[site, host, vendor, datetime.now(UTC)]],
                            column_names=["site", "host", "vendor", "alerted_at"])

    def _found(self, scan_id: str) -> set[tuple[str, str, str]]:
        rows = self._client.query("SELECT DISTINCT page, host, vendor FROM tracker_findings WHERE scan_id = {s:String}",
                                  parameters={"s": scan_id}).result_rows
        return {tuple(row) for row in rows}
