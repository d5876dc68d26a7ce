"""Wiring the forwarder into a process: its runner over the warehouse, and its schedule."""

import logging
import signal
from contextlib import nullcontext
from datetime import UTC

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from forwarder.runner import Forwarder
from forwarder.schedule import schedule
from forwarder.settings import ForwarderSettings
from sluice.datadir import DataDir, DataDirBusy
from sluice.errors import SluiceError
from sluice.upkeep import audit_stream, schedule_anchoring, schedule_audit_stream
from warehouse import MIGRATIONS, Warehouse, WarehouseSettings, parse_dsn
from warehouse.migrations import applied_versions
from warehouse.settings import AuditSettings

log = logging.getLogger("sluice.forwarder")


def forwarder_for(settings: ForwarderSettings, warehouse: Warehouse, data_dir: DataDir, instance: str,
                  opt_out_sites: frozenset[str]) -> Forwarder | None:
    """The configured forwarder of this instance, or none when the policy sends nothing anywhere."""
    if not settings.signals or not settings.destinations:
        return None
    return Forwarder(warehouse, settings, data_dir.path / "exports", instance=instance, opt_out_sites=opt_out_sites)


def schedule_forwarding(scheduler: BaseScheduler, forwarder: Forwarder | None) -> None:
    """Add the forwarder's jobs when it is enabled."""
    if forwarder is not None and forwarder.settings.enabled:
        schedule(scheduler, forwarder)


class ForwardingError(SluiceError):
    """The forwarder cannot run as asked."""


def _require_current_schema(warehouse: Warehouse) -> None:
    """The forwarder's warehouse user may not change the schema: `sluice serve` or `sluice migrate` does."""
    head = MIGRATIONS[-1].version
    current = max(applied_versions(warehouse.client), default=0) if warehouse.has_database() else 0
    if current != head:
        raise ForwardingError(f"the warehouse schema is at version {current} and this forwarder needs {head}: "
                              "run `sluice migrate` (or start `sluice serve`, which migrates) first")


def run_forwarder(settings: ForwarderSettings, warehouse_settings: WarehouseSettings, audit: AuditSettings,
                  data_dir: DataDir, instance: str, opt_out_sites: frozenset[str]) -> None:
    """`sluice forwarder`: only the schedule, until SIGTERM or SIGINT; it audits on a chain of its own."""
    service = f"{instance}-forwarder"  # its audit chain and lease owner, apart from a `serve` of this instance
    embedded = parse_dsn(warehouse_settings.dsn).embedded
    try:
        hold = data_dir.hold() if embedded else nullcontext()
    except DataDirBusy:
        raise ForwardingError(f"another sluice process holds {data_dir.path}: with the embedded warehouse, set "
                              "forwarder.enabled = true and `sluice serve` runs the forwarder itself") from None
    with hold:
        warehouse = data_dir.open_warehouse(warehouse_settings, audit, chain=service)
        try:
            _require_current_schema(warehouse)
            forwarder = forwarder_for(settings, warehouse, data_dir, service, opt_out_sites)
            if forwarder is None:
                raise ForwardingError("nothing to forward: add [[forwarder.signals]] and [[forwarder.destinations]]")
            forwarder.record_policy()
            scheduler = BlockingScheduler(timezone=UTC)
            schedule(scheduler, forwarder)
            schedule_anchoring(scheduler, warehouse, audit.anchor_minutes)
            schedule_audit_stream(scheduler, audit_stream(warehouse, audit, data_dir.path), audit.stream_seconds)
            # A run in flight finishes (and records what it sent) before the warehouse closes.
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: scheduler.shutdown(wait=True))
            log.info("forwarder scheduled", extra={"destinations": [d.id for d in settings.destinations]})
            scheduler.start()
        finally:
            warehouse.close()
