"""GET /api/events: event-level exploration for analysts, with every identifier masked."""

from typing import Annotated

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from api.accounts import Role
from api.audit import audited, note
from api.auth import SECURED, SIGNED_IN_ERRORS, authorized
from api.reports import report_query
from warehouse import Warehouse
from warehouse.reports import MaskedEvent, ReportQuery, masked_events

MAX_OFFSET = 100_000


class EventPage(msgspec.Struct, frozen=True):
    events: list[MaskedEvent]
    page: int
    page_size: int
    total: int


class ExploreController(Controller):
    path = "/api/events"
    tags = ["exploration"]
    guards = [authorized]
    security = SECURED
    opt = {"roles": {Role.ANALYST, Role.ADMIN}}
    dependencies = {"selection": Provide(report_query, sync_to_thread=False)}

    @get(sync_to_thread=True, opt=audited("events.read"), raises=SIGNED_IN_ERRORS)
    def events(
        self,
        request: Request,
        warehouse: NamedDependency[Warehouse],
        selection: NamedDependency[ReportQuery],
        page: Annotated[int, QueryParameter(ge=1, le=MAX_OFFSET)] = 1,
        page_size: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> EventPage:
        """Events newest first: site, dates and filters as for reports; IP to its network, ids pseudonymous."""
        # Pseudonyms hold while this API runs: a restart makes them unlinkable to earlier answers.
        events, total = masked_events(warehouse.client, selection, request.app.state.pseudonym_key,
                                      offset=(page - 1) * page_size, limit=page_size)
        note(request, detail={"parameters": msgspec.to_builtins(selection) | {"page": page, "page_size": page_size},
                              "rows": len(events)})
        return EventPage(events=events, page=page, page_size=page_size, total=total)
