"""What compliance reads: every third-party host per site, known or not, allowed or not, and since when."""

from datetime import date, datetime

import msgspec

from scanner.settings import ScannerSettings
from scanner.signatures import vendor_of
from warehouse.trackers import Trackers


class TrackerHost(msgspec.Struct, frozen=True, kw_only=True):
    site: str
    host: str
    vendor: str
    """The known tracker it serves, or empty."""
    allowed: bool
    baa_signed: date | None
    first_seen: datetime
    last_seen: datetime
    new: bool
    """Found by the site's latest scan and not the one before, or reported by CSP since that scan."""
    pages: list[str]
    kinds: list[str]
    sources: list[str]


def tracker_hosts(trackers: Trackers, settings: ScannerSettings, site: str | None = None) -> list[TrackerHost]:
    """Every third-party host, known trackers first."""
    latest = {scan.site: scan for scan in trackers.latest_scans()}
    new = {(scan.site, host) for scan in latest.values() for _, host, _ in trackers.change(scan).new}
    hosts = []
    for found in trackers.hosts(site):
        allowance = settings.allowance(found.host)
        known = vendor_of(found.host)
        scan = latest.get(found.site)
        fresh = (found.site, found.host) in new or (scan is not None and found.first_seen > scan.finished_at)
        hosts.append(TrackerHost(
            site=found.site, host=found.host, vendor=found.vendor or (known.name if known else ""),
            allowed=allowance is not None, baa_signed=allowance.baa_signed if allowance else None,
            first_seen=found.first_seen, last_seen=found.last_seen, new=fresh or scan is None, pages=found.pages,
            kinds=found.kinds, sources=found.sources))
    # Known trackers first, then the allow-listed, then unknown hosts (where made-up CSP reports land), newest first.
    return sorted(hosts, key=lambda h: (not h.vendor, not h.allowed, -h.last_seen.timestamp(), h.site, h.host))
