"""The compliance API: the audit log, the forwarder's outbox, the website's third parties, and the values a
forwarder policy may declare."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter

from api.accounts import Role
from api.audit import audited, note
from api.auth import SECURED, SIGNED_IN_ERRORS, authorized
from api.reports import report_query
from scanner.report import TrackerHost, tracker_hosts
from warehouse import AuditEntry, Warehouse
from warehouse.outbox import ForwardStatus, Outbox, OutboxRecord
from warehouse.reports import ReportQuery, dimension_values
from warehouse.schema import TIMES, storable
from warehouse.trackers import Trackers

Page = Annotated[int, QueryParameter(ge=1, le=100_000)]
PageSize = Annotated[int, QueryParameter(ge=1, le=500)]
Text = Annotated[str, QueryParameter(max_length=200)]
_MOMENT = r"^(\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
_MOMENT_TEXT = "an ISO 8601 date or time, from 2000 on; without a zone, UTC"


class AuditPage(msgspec.Struct, frozen=True):
    entries: list[AuditEntry]
    page: int
    page_size: int
    total: int


class TrackerPage(msgspec.Struct, frozen=True):
    hosts: list[TrackerHost]
    page: int
    page_size: int
    total: int
    """Hosts on every page; `not_allowed` and `new` count them all too."""
    not_allowed: int
    new: int


class ForwardOutbox(msgspec.Struct, frozen=True):
    records: list[OutboxRecord]
    """The latest 1,000 matching cells, oldest window first."""
    status: ForwardStatus


class ComplianceController(Controller):
    path = "/api/audit"
    tags = ["compliance"]
    guards = [authorized]
    security = SECURED
    opt = {"roles": {Role.COMPLIANCE, Role.ADMIN}}

    @get(sync_to_thread=True, opt=audited("audit.read"), raises=SIGNED_IN_ERRORS)
    def audit_log(
        self,
        request: Request,
        warehouse: NamedDependency[Warehouse],
        actor_name: Annotated[str, QueryParameter(name="actor", max_length=200)] = "",
        action: Text = "",
        outcome: Text = "",
        since_text: Annotated[str, QueryParameter(name="since", pattern=_MOMENT, description=_MOMENT_TEXT)] = "",
        until_text: Annotated[str, QueryParameter(name="until", pattern=_MOMENT, description=_MOMENT_TEXT)] = "",
        page: Page = 1,
        page_size: PageSize = 100,
    ) -> AuditPage:
        """Audit entries, newest first; filter by actor, action, outcome and time."""
        since, until = _moment(since_text, "since"), _moment(until_text, "until")
        if since and until and since >= until:
            raise ValidationException("'since' must be before 'until'")
        entries, total = warehouse.audit.search(actor=actor_name, action=action, outcome=outcome, since=since,
                                                until=until, offset=(page - 1) * page_size, limit=page_size)
        note(request, detail={
            "parameters": {"actor": actor_name, "action": action, "outcome": outcome, "since": str(since or ""),
                           "until": str(until or ""), "page": page, "page_size": page_size},
            "rows": len(entries)})
        return AuditPage(entries=entries, page=page, page_size=page_size, total=total)


class OutboxController(Controller):
    path = "/api/outbox"
    tags = ["compliance"]
    guards = [authorized]
    security = SECURED
    opt = {"roles": {Role.COMPLIANCE, Role.ADMIN}}

    @get(sync_to_thread=True, opt=audited("outbox.read"), raises=SIGNED_IN_ERRORS)
    def outbox(
        self,
        request: Request,
        warehouse: NamedDependency[Warehouse],
        destination: Annotated[str, QueryParameter(max_length=40)] = "",
        state_name: Annotated[str, QueryParameter(name="state", max_length=20)] = "",
        days: Annotated[int, QueryParameter(ge=1, le=400)] = 30,
    ) -> ForwardOutbox:
        """What the forwarder released, suppressed, sent or held back, cell by cell; payloads are in the audit log."""
        outbox = Outbox(warehouse.client)
        since = datetime.now(UTC) - timedelta(days=days)
        records = [r for r in outbox.current(destination or None, since=since) if not state_name or r.state == state_name]
        note(request, detail={"parameters": {"destination": destination, "state": state_name, "days": days},
                              "rows": len(records)})
        return ForwardOutbox(records=records[-1000:], status=forward_status(request, warehouse))


def forward_status(request: Request, warehouse: Warehouse) -> ForwardStatus:
    """The outbox by destination, window and state, and this month's privacy budget against the policy's cap."""
    forwarder = request.app.state.forwarder
    if forwarder is None:
        return Outbox(warehouse.client).status()
    policy = forwarder.settings
    return Outbox(warehouse.client).status(policy.monthly_epsilon, exact=policy.epsilon == 0)


class TrackersController(Controller):
    path = "/api/trackers"
    tags = ["compliance"]
    guards = [authorized]
    security = SECURED
    opt = {"roles": {Role.COMPLIANCE, Role.ADMIN}}

    @get(sync_to_thread=True, opt=audited("trackers.read"), raises=SIGNED_IN_ERRORS)
    def trackers(self, request: Request, warehouse: NamedDependency[Warehouse],
                 site: Annotated[str, QueryParameter(max_length=64)] = "", page: Page = 1,
                 page_size: PageSize = 100) -> TrackerPage:
        """Third-party hosts on the website, known trackers first, a page at a time: vendor, allowed or not,
        BAA date, new since the last scan."""
        found = tracker_hosts(Trackers(warehouse.client), request.app.state.scanner, site or None)
        shown = found[(page - 1) * page_size:page * page_size]
        note(request, detail={"parameters": {"site": site, "page": page, "page_size": page_size}, "rows": len(shown)})
        return TrackerPage(hosts=shown, page=page, page_size=page_size, total=len(found),
                           not_allowed=sum(not h.allowed for h in found), new=sum(h.new for h in found))


class DimensionValue(msgspec.Struct, frozen=True):
    value: str
    """Masked like every report: one that looks like an id, an email address or a phone number reads `*`."""
    visitors: int


class DimensionValuesController(Controller):
    path = "/api/dimension-values"
    tags = ["compliance"]
    guards = [authorized]
    security = SECURED
    opt = {"roles": {Role.ADMIN}}
    dependencies = {"selection": Provide(report_query, sync_to_thread=False)}

    @get(sync_to_thread=True, opt=audited("dimension_values.read"), raises=SIGNED_IN_ERRORS)
    def dimension_values(self, request: Request, warehouse: NamedDependency[Warehouse],
                         selection: NamedDependency[ReportQuery]) -> dict[str, list[DimensionValue]]:
        """The values of each free-text dimension seen in a period, to declare those the forwarder may send."""
        seen = {d: [DimensionValue(**v) for v in values]
                for d, values in dimension_values(warehouse.client, selection).items()}
        note(request, detail={"parameters": msgspec.to_builtins(selection),
                              "rows": sum(len(values) for values in seen.values())})
        return seen




def _moment(text: str, name: str) -> datetime | None:
    """A time given without a zone is read as UTC; the audit log holds nothing before 2000."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationException(f"'{name}' must be a time like 2026-11-01T08:00:00Z") from None
    if not storable(moment):
        raise ValidationException(f"'{name}' must be {TIMES}")
    return moment.replace(tzinfo=moment.tzinfo or UTC)
