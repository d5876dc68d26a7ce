"""GET /api/events: event-level exploration for analysts, with every identifier masked."""

from typing import Annotated

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from api.accounts import Role
from api.audit import audited, note
from api.auth import authorized
from api.reports import report_query
from warehouse import Warehouse
from warehouse.reports import MaskedEvent, masked_events

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
    opt = {"roles": {Role.ANALYST, Role.ADMIN}}

    @get(sync_to_thread=True, opt=audited("events.read"))
    def events(
        self,
        request: Request,
        warehouse: NamedDependency[Warehouse],
        page: Annotated[int, QueryParameter(ge=1, le=MAX_OFFSET)] = 1,
        page_size: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> EventPage:
        """Events newest first: site, dates and filters as for reports; IP to its network, ids pseudonymous."""
        query = report_query(request)
        # Pseudonyms hold while this API runs: a restart makes them unlinkable to earlier answers.
        events, total = masked_events(warehouse.client, query, request.app.state.pseudonym_key,
                                      offset=(page - 1) * page_size, limit=page_size)
        note(request, detail={"parameters": msgspec.to_builtins(query) | {"page": page, "page_size": page_size},
                              "rows": len(events)})
        return EventPage(events=events, page=page, page_size=page_size, total=total)
