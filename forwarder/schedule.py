"""The forwarder's schedule: one job per destination, stable ids, coalesced, one run at a time."""

from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from forwarder.runner import Forwarder


def job_id(destination: str) -> str:
    return f"forward:{destination}"


def schedule(scheduler: BaseScheduler, forwarder: Forwarder, now: datetime | None = None) -> None:
    """Add (or replace) a job per destination, the first one due at once."""
    settings = forwarder.settings
    # One worker: runs of different destinations share the warehouse and the outbox, one at a time.
    scheduler.add_executor(ThreadPoolExecutor(1), alias="forwarder")
    for destination in settings.destinations:
        scheduler.add_job(forwarder.run_destination, IntervalTrigger(minutes=settings.schedule_minutes, timezone=UTC),
                          args=[destination.id], id=job_id(destination.id), name=f"forward to {destination.id}",
                          executor="forwarder", coalesce=True, max_instances=1, misfire_grace_time=3600,
                          replace_existing=True, next_run_time=now or datetime.now(UTC))
