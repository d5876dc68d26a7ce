"""The compliance API: the audit log, filtered and paged."""

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromQuery, QueryParameter

from collector.accounts import Role
from collector.auth import actor, authorized
from warehouse import AuditEntry, Warehouse

Page = Annotated[int, QueryParameter(ge=1, le=100_000)]
PageSize = Annotated[int, QueryParameter(ge=1, le=500)]
Text = Annotated[str, QueryParameter(max_length=200)]


class AuditPage(msgspec.Struct, frozen=True):
    entries: list[AuditEntry]
    page: int
    page_size: int
    total: int


class ComplianceController(Controller):
    path = "/api/audit"
    tags = ["compliance"]
    guards = [authorized]
    opt = {"roles": {Role.COMPLIANCE, Role.ADMIN}}

    @get(sync_to_thread=True)
    def audit_log(
        self,
        request: Request,
        warehouse: NamedDependency[Warehouse],
        actor_name: Annotated[str, QueryParameter(name="actor", max_length=200)] = "",
        action: Text = "",
        outcome: Text = "",
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        page: Page = 1,
        page_size: PageSize = 100,
    ) -> AuditPage:
        """Audit entries, newest first; filter by actor, action, outcome and time."""
        if since and until and since >= until:
            raise ValidationException("'since' must be before 'until'")
        entries, total = warehouse.audit.search(actor=actor_name, action=action, outcome=outcome, since=since,
                                                until=until, offset=(page - 1) * page_size, limit=page_size)
        warehouse.audit.record(actor(request), "audit.read", "/api/audit", detail={
            "parameters": {"actor": actor_name, "action": action, "outcome": outcome, "since": str(since or ""),
                           "until": str(until or ""), "page": page, "page_size": page_size},
            "rows": len(entries)})
        return AuditPage(entries=entries, page=page, page_size=page_size, total=total)
