"""The warehouse's upkeep on a schedule: cells of closed days kept current by one instance, and audit anchors."""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from warehouse import Warehouse
from warehouse.leases import Leases
from warehouse.reports import refresh_cells

_CELLS_MINUTES = 10
_HELD = 0.9
"""The share of the interval a run's lease lasts: the next run's turn is open again before it is due."""


def schedule_upkeep(scheduler: BaseScheduler, warehouse: Warehouse, sites: Sequence[str], instance: str) -> None:
    """Refresh every site's cells soon after start and every few minutes, on one instance at a time."""
    leases, owner = Leases(warehouse.client), f"{instance}:{uuid.uuid4().hex[:8]}"

    def refresh_all() -> None:
        for site in sites:
            refresh_cells(warehouse.client, site)

    scheduler.add_job(leases.run, IntervalTrigger(minutes=_CELLS_MINUTES),
                      args=["cells", owner, _CELLS_MINUTES * 60 * _HELD, refresh_all], id="cells",
                      name="report cells of closed days", coalesce=True, max_instances=1, replace_existing=True,
                      next_run_time=datetime.now(UTC) + timedelta(seconds=10))


def schedule_anchoring(scheduler: BaseScheduler, warehouse: Warehouse, minutes: int) -> None:
    """Anchor this process's audit chain head every few minutes (and so within minutes of any entry)."""
    scheduler.add_job(warehouse.audit.anchor, IntervalTrigger(minutes=minutes), id="audit-anchor",
                      name="audit chain anchor", coalesce=True, max_instances=1, replace_existing=True)
