"""The scanner's jobs on a scheduler: a scan per target every few hours, and a frequent check for new hosts.

Every instance on a warehouse schedules them; a lease taken for most of the interval lets one of
them do each run, so the site is crawled and alerts are sent once whatever the number of instances.
"""

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from scanner.scan import scan
from scanner.settings import ScannerSettings, Target
from scanner.store import check_alerts, record
from warehouse import Warehouse
from warehouse.leases import Leases

_ALERT_CHECK_MINUTES = 5
_HELD = 0.9
"""The share of its interval a run's lease lasts: the next run's turn is open again before it is due."""


def schedule_scans(scheduler: BaseScheduler, settings: ScannerSettings, origins: Mapping[str, Sequence[str]],
                   warehouse: Warehouse, instance: str = "sluice", first_after: timedelta = timedelta(minutes=1)) -> None:
    """Scan each target every `schedule_hours` (the first `first_after` start) with its site's `origins` as first
    party, and alert on new hosts that CSP reports show every few minutes; `instance` names this one's leases."""
    leases, first = Leases(warehouse.client), datetime.now(UTC) + first_after
    owner = f"{instance}:{uuid.uuid4().hex[:8]}"  # this process: two with one instance name stay apart

    def scan_and_record(target: Target) -> None:
        record(scan(target, settings, own_origins=origins.get(target.site, ())), settings, warehouse)

    for target in settings.targets if settings.schedule_hours else []:
        scheduler.add_job(leases.run, IntervalTrigger(hours=settings.schedule_hours),
                          args=[f"scan:{target.site}", owner, settings.schedule_hours * 3600 * _HELD,
                                lambda t=target: scan_and_record(t)],
                          id=f"scan:{target.site}", name=f"scan {target.site}", coalesce=True, max_instances=1,
                          replace_existing=True, next_run_time=first)
    scheduler.add_job(leases.run, IntervalTrigger(minutes=_ALERT_CHECK_MINUTES),
                      args=["scan:alerts", owner, _ALERT_CHECK_MINUTES * 60 * _HELD,
                            lambda: check_alerts(settings, warehouse)],
                      id="scan:alerts", name="alert on new third parties", coalesce=True, max_instances=1,
                      replace_existing=True)
