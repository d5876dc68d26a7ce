"""Wiring the forwarder into a process: its runner over the warehouse, the ops hook, the schedule."""

import logging
import signal
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC

import msgspec
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from collector.ops import ForwardRefused, ForwardRun
from forwarder.runner import Forwarder, InvalidWindow, MissingCredential, Run, UnknownDestination
from forwarder.schedule import schedule
from forwarder.settings import ForwarderSettings
from sluice.datadir import DataDir, DataDirBusy
from warehouse import Warehouse, WarehouseSettings, open_warehouse, parse_dsn
from warehouse.outbox import Outbox

log = logging.getLogger("sluice.forwarder")


def forwarder_for(settings: ForwarderSettings, warehouse: Warehouse, data_dir: DataDir) -> Forwarder | None:
    """The configured forwarder, or none when the policy sends nothing anywhere."""
    if not settings.signals or not settings.destinations:
        return None
    return Forwarder(warehouse, settings, data_dir.path / "exports")


def hook(forwarder: Forwarder | None) -> Callable[[ForwardRun], dict] | None:
    """The ops API's way to run the forwarder: a run's cells and requests as plain data."""
    if forwarder is None:
        return None

    def forward(request: ForwardRun) -> dict:
        try:
            run = forwarder.run(request.destination, request.window, request.dry_run)
        except (InvalidWindow, MissingCredential, UnknownDestination) as exc:
            raise ForwardRefused(str(exc)) from None
        return {"cells": _cells(forwarder, run, request.dry_run), "outcomes": run.outcomes,
                "requests": msgspec.to_builtins(run.requests)}

    return forward


def schedule_forwarding(scheduler: BaseScheduler, forwarder: Forwarder | None) -> None:
    """Add the forwarder's jobs when it is enabled."""
    if forwarder is not None and forwarder.settings.enabled:
        schedule(scheduler, forwarder)


def _cells(forwarder: Forwarder, run: Run, dry_run: bool) -> list[dict]:
    if dry_run:
        return [{"window": start.isoformat(), "destination": "", "signal": d.cell.signal,
                 "dimensions": d.cell.dimensions, "visitors": d.visitors, "conversions": d.conversions,
                 "value": d.value, "state": "released" if d.released else "suppressed", "reason": d.reason}
                for start, decisions in run.decisions.items() for d in decisions]
    records = Outbox(forwarder.warehouse.client).current(windows=run.windows) if run.windows else []
    return [{"window": r.window_start.isoformat(), "destination": r.destination, "signal": r.signal,
             "dimensions": r.cell, "visitors": r.visitors, "conversions": r.conversions, "value": r.value,
             "state": r.state, "reason": r.reason} for r in records]


class ForwardingError(Exception):
    """The forwarder cannot run as asked."""


def run_forwarder(settings: ForwarderSettings, warehouse_settings: WarehouseSettings, data_dir: DataDir) -> None:
    """`sluice forwarder`: only the schedule, until SIGTERM or SIGINT."""
    embedded = parse_dsn(warehouse_settings.dsn).embedded
    try:
        hold = data_dir.hold() if embedded else nullcontext()
    except DataDirBusy:
        raise ForwardingError(f"another sluice process holds {data_dir.path}: with the embedded warehouse, set "
                              "forwarder.enabled = true and `sluice serve` runs the forwarder itself") from None
    with hold:
        warehouse = open_warehouse(warehouse_settings, migrate_as="sluice forwarder", audit_chain="forwarder")
        try:
            forwarder = forwarder_for(settings, warehouse, data_dir)
            if forwarder is None:
                raise ForwardingError("nothing to forward: add [[forwarder.signals]] and [[forwarder.destinations]]")
            forwarder.record_policy()
            scheduler = BlockingScheduler(timezone=UTC)
            schedule(scheduler, forwarder)
            # A run in flight finishes (and records what it sent) before the warehouse closes.
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: scheduler.shutdown(wait=True))
            log.info("forwarder scheduled", extra={"destinations": [d.id for d in settings.destinations]})
            scheduler.start()
        finally:
            warehouse.close()
