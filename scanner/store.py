"""Keeping scans: their findings in the warehouse, what changed since the last one, and the alerts it raises."""

import os

import httpx
import msgspec

from scanner.alerts import Alert, alert_new_hosts
from scanner.scan import ScanResult
from scanner.settings import ScannerSettings
from warehouse import Warehouse
from warehouse.trackers import Finding, Scan, Trackers

ACTOR = "scanner"


class RecordedScan(msgspec.Struct, frozen=True):
    """A stored scan: what it found, what is new and gone since the site's previous scan, the alerts sent."""

    scan: Scan
    findings: list[Finding]
    new: list[tuple[str, str, str]]
    """(page, host, vendor) found now and not by the previous scan."""
    gone: list[tuple[str, str, str]]
    alerts: list[Alert]


def record(result: ScanResult, settings: ScannerSettings, warehouse: Warehouse) -> RecordedScan:
    """Store a scan, say what changed since the site's last one, and raise alerts for new hosts."""
    trackers = Trackers(warehouse.client)
    trackers.record(result.findings, token=f"findings:{result.scan.scan_id}")
    trackers.record_scan(result.scan)
    change = trackers.change(result.scan)
    alerts = check_alerts(settings, warehouse)
    warehouse.audit.record(ACTOR, "scan.recorded", result.scan.site, detail={
        "scan": result.scan.scan_id, "pages": result.scan.pages, "findings": len(result.findings),
        "new": len(change.new), "gone": len(change.gone)})
    return RecordedScan(scan=result.scan, findings=result.findings, new=change.new, gone=change.gone, alerts=alerts)


def check_alerts(settings: ScannerSettings, warehouse: Warehouse) -> list[Alert]:
    """Announce the hosts that scans or CSP reports found and nobody has been told of yet."""
    with httpx.Client() as http:
        return alert_new_hosts(Trackers(warehouse.client), settings, http, os.environ)
