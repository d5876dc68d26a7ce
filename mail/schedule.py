"""Send each report once its period is over: one instance sends (a lease), a send on record is not repeated, and
a failed one is tried again the next day."""

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

import msgspec
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from mail.errors import MailError
from mail.relay import deliver
from mail.report import compose, period
from mail.settings import MailSettings
from warehouse import Warehouse
from warehouse.leases import Leases
from warehouse.users import find_user
from warehouse.views import NamedView, SavedViews

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
    """Email each saved view's last whole week or month unless its report is on record as sent (so one that
    failed goes out on a later day); every send and every failure is audited."""
    today = today or datetime.now(UTC).date()
    sent = []
    for owner, view in SavedViews(warehouse.client).emailed():
        start, end = period(view.view.email.every, today)
        resource = f"view:{owner}/{view.name}:{start}"
        if _on_record(warehouse, resource, end):
            continue
        to = [address for address in view.view.email.to if settings.internal(address)]
        detail = {"to": to, "site": view.view.site or sites[0], "from": str(start), "until": str(end)}
        try:
            refused = _send(warehouse, settings, sites, env, owner, view, to, (start, end))
        except Exception as exc:  # noqa: BLE001 - one view's failure, whatever it is, must not stop the others
            log.error("report not sent", extra={"view": view.name, "error": str(exc)})
            warehouse.audit.record(ACTOR, ACTION, resource, outcome="failure", detail=detail | {"error": str(exc)})
            continue
        warehouse.audit.record(ACTOR, ACTION, resource, detail=detail | ({"refused": refused} if refused else {}))
        sent.append(Sent(owner=owner, view=view.name, start=start, end=end, to=[a for a in to if a not in refused]))
    return sent


def _send(warehouse: Warehouse, settings: MailSettings, sites: Sequence[str], env: Mapping[str, str], owner: str,
          view: NamedView, to: list[str], days: tuple[date, date]) -> list[str]:
    """Compose and deliver one view's report to `to`, or say why it may not go; return the addresses refused."""
    account = find_user(warehouse.client, owner)
    if account is None or account.disabled:
        raise MailError(f"{owner}'s account is disabled or gone, so their views are no longer emailed")
    if not to:
        raise MailError("none of its addresses is at an internal domain any more")
    site = view.view.site or sites[0]
    if site not in sites:
        raise MailError(f"its site {site!r} is no longer configured")
    message = compose(warehouse.client, view, site, *days, settings.sender or "", to)
    return deliver(message, to, settings, env)


def schedule_mail(scheduler: BaseScheduler, settings: MailSettings, warehouse: Warehouse, sites: Sequence[str],
                  env: Mapping[str, str], instance: str = "sluice") -> None:
    """Each day at `send_hour` (UTC), one instance sends the reports due."""
    if not settings.relay or not sites:
        return
    leases, owner = Leases(warehouse.client), f"{instance}:{uuid.uuid4().hex[:8]}"
    scheduler.add_job(leases.run, CronTrigger(hour=settings.send_hour, timezone=UTC),
                      args=["mail:reports", owner, 3000.0, lambda: send_due(warehouse, settings, sites, env)],
                      id="mail:reports", name="email scheduled reports", coalesce=True, max_instances=1,
                      replace_existing=True, misfire_grace_time=1800)  # within the lease: runs never overlap


def _on_record(warehouse: Warehouse, resource: str, end: date) -> bool:
    """Whether the report of a period that ended on `end` is on record as sent (it is sent only after that)."""
    since = datetime.combine(end, datetime.min.time(), UTC)
    entries, _ = warehouse.audit.search(actor=ACTOR, action=ACTION, outcome="success", since=since, limit=1000)
    return any(entry.resource == resource for entry in entries)
