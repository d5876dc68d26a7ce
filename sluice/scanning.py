"""Wiring the website scanner into a process: scans, their storage and alerts, the schedule, the API hooks."""

import logging
import os
from datetime import UTC, datetime, timedelta
from collections.abc import Callable

import httpx
import msgspec
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger
from litestar.exceptions import ClientException

from collector.settings import Site
from scanner.alerts import Alert, alert_new_hosts
from scanner.page import Page
from scanner.report import tracker_hosts
from scanner.scan import ScanResult, scan_site
from scanner.settings import ScannerSettings, Target
from warehouse import Warehouse
from warehouse.trackers import Change, Trackers

log = logging.getLogger("sluice.scanner")
_ALERT_CHECK_MINUTES = 5


def scan(target: Target, settings: ScannerSettings, sites: list[Site], *,
         on_page: Callable[[Page], None] = lambda page: None) -> ScanResult:
    """Crawl one target; stores nothing, so a command can do it without the warehouse."""
    origins = next((site.origins for site in sites if site.id == target.site), [])
    with httpx.Client(timeout=settings.timeout_seconds, headers={"user-agent": "sluice-scanner"}) as http:
        return scan_site(target, settings, http, own_origins=origins, on_page=on_page)


def record(result: ScanResult, settings: ScannerSettings, warehouse: Warehouse) -> dict:
    """Store a scan, say what changed since the site's last one, and raise alerts for new hosts."""
    trackers = Trackers(warehouse.client)
    trackers.record(result.findings, token=f"findings:{result.scan.scan_id}")
    trackers.record_scan(result.scan)
    change: Change = trackers.change(result.scan)
    alerts = _check_alerts(settings, warehouse)
    warehouse.audit.record("scanner", "scan.recorded", result.scan.site, detail={
        "scan": result.scan.scan_id, "pages": result.scan.pages, "findings": len(result.findings),
        "new": len(change.new), "gone": len(change.gone)})
    return {"scan": msgspec.to_builtins(result.scan), "findings": msgspec.to_builtins(result.findings),
            "new": change.new, "gone": change.gone, "alerts": msgspec.to_builtins(alerts)}


def record_hook(settings: ScannerSettings, warehouse: Warehouse) -> Callable[[dict], dict]:
    def upload(uploaded: dict) -> dict:
        try:
            result = msgspec.convert(uploaded, ScanResult)
        except msgspec.ValidationError as exc:
            raise ClientException(f"not a scan: {exc}") from None
        return record(result, settings, warehouse)

    return upload


def hosts_hook(settings: ScannerSettings, warehouse: Warehouse) -> Callable[[str | None], list]:
    return lambda site: tracker_hosts(Trackers(warehouse.client), settings, site)


def schedule_scans(scheduler: BaseScheduler, settings: ScannerSettings, sites: list[Site],
                   warehouse: Warehouse) -> None:
    """A scan per target every `schedule_hours` (the first soon after start), and a frequent check that
    alerts on new hosts CSP reports show."""
    first = datetime.now(UTC) + timedelta(minutes=1)
    for target in settings.targets if settings.schedule_hours else []:
        scheduler.add_job(lambda t=target: record(scan(t, settings, sites), settings, warehouse),
                          IntervalTrigger(hours=settings.schedule_hours), id=f"scan:{target.site}",
                          name=f"scan {target.site}", coalesce=True, max_instances=1, replace_existing=True,
                          next_run_time=first)
    scheduler.add_job(lambda: _check_alerts(settings, warehouse), IntervalTrigger(minutes=_ALERT_CHECK_MINUTES),
                      id="scan:alerts", coalesce=True, max_instances=1, replace_existing=True)


def _check_alerts(settings: ScannerSettings, warehouse: Warehouse) -> list[Alert]:
    with httpx.Client() as http:
        return alert_new_hosts(Trackers(warehouse.client), settings, http, os.environ)
