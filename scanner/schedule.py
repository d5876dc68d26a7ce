"""The scanner's jobs on a scheduler: a scan per target every few hours, and a frequent check for new hosts."""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from scanner.scan import scan
from scanner.settings import ScannerSettings, Target
from scanner.store import check_alerts, record
from warehouse import Warehouse

_ALERT_CHECK_MINUTES = 5


def schedule_scans(scheduler: BaseScheduler, settings: ScannerSettings, origins: Mapping[str, Sequence[str]],
                   warehouse: Warehouse) -> None:
    """Scan each target every `schedule_hours` (the first soon after start) with its site's `origins` as first
    party, and alert on new hosts that CSP reports show every few minutes."""
    first = datetime.now(UTC) + timedelta(minutes=1)

    def scan_and_record(target: Target) -> None:
        record(scan(target, settings, own_origins=origins.get(target.site, ())), settings, warehouse)

    for target in settings.targets if settings.schedule_hours else []:
        scheduler.add_job(scan_and_record, IntervalTrigger(hours=settings.schedule_hours), args=[target],
                          id=f"scan:{target.site}", name=f"scan {target.site}", coalesce=True, max_instances=1,
                          replace_existing=True, next_run_time=first)
    scheduler.add_job(check_alerts, IntervalTrigger(minutes=_ALERT_CHECK_MINUTES), args=[settings, warehouse],
                      id="scan:alerts", coalesce=True, max_instances=1, replace_existing=True)
