"""Send the reports due today, once: one instance sends (a lease), and a send on record is not repeated."""

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

import msgspec
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from mail.errors import MailError
from mail.relay import deliver
from mail.report import compose, period
from mail.settings import MailSettings
from warehouse import Warehouse
from warehouse.leases import Leases
from warehouse.views import SavedViews

log = logging.getLogger("sluice.mail")
ACTOR = "system:mail"
ACTION = "report.email"


class Sent(msgspec.Struct, frozen=True):
    owner: str
    view: str
    start: date
    end: date
    to: list[str]


def send_due(warehouse: Warehouse, settings: MailSettings, sites: Sequence[str], env: Mapping[str, str],
             today: date | None = None) -> list[Sent]:
    """Email each saved view whose week or month ended yesterday, unless its report is on record as sent; every
    send and every failure is audited."""
    today = today or datetime.now(UTC).date()
    sent = []
    for owner, view in SavedViews(warehouse.client).emailed():
        due = period(view.view.email.every, today)
        resource = f"view:{owner}/{view.name}:{due[0] if due else ''}"
        if due is None or _on_record(warehouse, resource, today):
            continue
        to = [address for address in view.view.email.to if settings.internal(address)]
        site = view.view.site if view.view.site in sites else sites[0]
        detail = {"to": to, "site": site, "from": str(due[0]), "to_day": str(due[1])}
        try:
            if not to:
                raise MailError("none of its addresses is at an internal domain any more")
            deliver(compose(warehouse.client, _to(view, to), site, *due, settings.sender or ""), settings, env)
        except MailError as exc:
            log.error("report not sent", extra={"view": view.name, "error": str(exc)})
            warehouse.audit.record(ACTOR, ACTION, resource, outcome="failure", detail=detail | {"error": str(exc)})
            continue
        warehouse.audit.record(ACTOR, ACTION, resource, detail=detail)
        sent.append(Sent(owner=owner, view=view.name, start=due[0], end=due[1], to=to))
    return sent


def schedule_mail(scheduler: BaseScheduler, settings: MailSettings, warehouse: Warehouse, sites: Sequence[str],
                  env: Mapping[str, str], instance: str = "sluice") -> None:
    """Each day at `send_hour` (UTC), one instance sends the reports due."""
    if not settings.relay or not sites:
        return
    leases, owner = Leases(warehouse.client), f"{instance}:{uuid.uuid4().hex[:8]}"
    scheduler.add_job(leases.run, CronTrigger(hour=settings.send_hour, timezone=UTC),
                      args=["mail:reports", owner, 3000.0, lambda: send_due(warehouse, settings, sites, env)],
                      id="mail:reports", name="email scheduled reports", coalesce=True, max_instances=1,
                      replace_existing=True, misfire_grace_time=3600)


def _on_record(warehouse: Warehouse, resource: str, today: date) -> bool:
    entries, _ = warehouse.audit.search(actor=ACTOR, action=ACTION, outcome="success",
                                        since=datetime.combine(today - timedelta(days=1), datetime.min.time(), UTC),
                                        limit=1000)
    return any(entry.resource == resource for entry in entries)


def _to(view, to: list[str]):
    """`view` with only the addresses it may be sent to."""
    email = msgspec.structs.replace(view.view.email, to=to)
    return msgspec.structs.replace(view, view=msgspec.structs.replace(view.view, email=email))
