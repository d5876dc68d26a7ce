"""The warehouse's upkeep on a schedule: cells of closed days kept current by one instance, audit anchors,
the audit stream to the SIEM, and the daily backup."""

import logging
import shutil
import socket
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from clickhouse_connect.driver.exceptions import ClickHouseError

from sluice.backup import BackupError, BackupSettings, back_up, prune, scheduled_destination
from sluice.datadir import DataDir
from warehouse import Warehouse, WarehouseError
from warehouse.audit_stream import AuditStream, JsonLinesSink, Sink, StreamError, SyslogSink
from warehouse.errors import first_line
from warehouse.leases import Leases
from warehouse.reports import refresh_cells
from warehouse.settings import AuditSettings

log = logging.getLogger("sluice.audit")

BACKUP_ACTOR = "system:backup"
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


def schedule_backups(scheduler: BaseScheduler, settings: BackupSettings, warehouse: Warehouse, data_dir: DataDir,
                     anchors: Path) -> None:
    """Back up every day at the configured hour into `settings.directory`, keeping the newest `settings.keep`."""
    if not settings.directory or not warehouse.dsn.embedded:
        return
    scheduler.add_job(daily_backup, CronTrigger(hour=settings.hour, timezone=UTC),
                      args=[settings, warehouse, data_dir, anchors], id="backup", name="daily backup",
                      coalesce=True, max_instances=1, replace_existing=True)


def daily_backup(settings: BackupSettings, warehouse: Warehouse, data_dir: DataDir, anchors: Path) -> None:
    """One scheduled backup, audited; a failure is logged and audited, and tried again the next day."""
    directory = Path(settings.directory)
    destination = scheduled_destination(directory)
    try:
        manifest = back_up(warehouse, data_dir, anchors, destination)
    except (BackupError, OSError, WarehouseError, ClickHouseError) as exc:
        shutil.rmtree(destination, ignore_errors=True)  # no half-written backup is left to be taken for one
        log.error("scheduled backup failed; the next is tomorrow", extra={"error": first_line(exc)})
        warehouse.audit.record(BACKUP_ACTOR, "backup.failed", str(destination), detail={"error": first_line(exc)})
        return
    removed = prune(directory, settings.keep)
    warehouse.audit.record(BACKUP_ACTOR, "backup.create", str(destination), detail={
        "files": len(manifest.files), "removed": [path.name for path in removed]})


def schedule_anchoring(scheduler: BaseScheduler, warehouse: Warehouse, minutes: int) -> None:
    """Anchor this process's audit chain head every few minutes (and so within minutes of any entry)."""
    scheduler.add_job(warehouse.audit.anchor, IntervalTrigger(minutes=minutes), id="audit-anchor",
                      name="audit chain anchor", coalesce=True, max_instances=1, replace_existing=True)


def audit_stream(warehouse: Warehouse, settings: AuditSettings, data_dir: Path) -> AuditStream | None:
    """The stream of this process's audit chain to the configured sinks; none when no sink is configured."""
    sinks: list[Sink] = []
    if settings.syslog:
        sinks.append(SyslogSink(settings.syslog, socket.gethostname()))
    if settings.jsonl:
        sinks.append(JsonLinesSink(Path(settings.jsonl)))
    return AuditStream(warehouse.audit, sinks, data_dir / "audit-stream.json") if sinks else None


def schedule_audit_stream(scheduler: BaseScheduler, stream: AuditStream | None, seconds: float) -> None:
    """Push the audit chain to the SIEM every few seconds; a failed push is logged and tried again."""
    if stream is not None:
        scheduler.add_job(push_audit_stream, IntervalTrigger(seconds=seconds), args=[stream], id="audit-stream",
                          name="audit stream to the SIEM", coalesce=True, max_instances=1, replace_existing=True,
                          next_run_time=datetime.now(UTC))


def push_audit_stream(stream: AuditStream) -> None:
    """Push, and log what failed: the entries wait for the next push, and the process goes on."""
    try:
        stream.push()
    except (StreamError, WarehouseError, ClickHouseError) as exc:
        log.warning("audit entries not streamed; they wait for the next push", extra={"error": first_line(exc)})
