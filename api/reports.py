"""GET /api/reports/<name>: validated parameters, typed answers, and every read audited."""

import csv
import io
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from clickhouse_connect.driver.client import Client
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import PathParameter, QueryParameter

from api.audit import audited, note
from api.auth import ALL_ROLES, SECURED, SIGNED_IN_ERRORS, authorized
from api.errors import json_errors
from warehouse import Warehouse, beside
from warehouse import reports as queries
from warehouse.privacy import spreadsheet_cell
from warehouse.reports import FILTERS, ReportQuery

MAX_DAYS = 400
EARLIEST = date(2000, 1, 1)
"""The first day a report or an annotation may name; the last is tomorrow."""
DEFAULT_DAYS = 30
REPORTS: dict[str, Callable[..., Any]] = {
    "overview": queries.overview,
    "timeseries": queries.timeseries,
    "sources": queries.sources,
    "campaigns": queries.campaigns,
    "pages": queries.pages,
    "entry-pages": queries.entry_pages,
    "conversions": queries.conversions,
    "devices": queries.devices,
    "events": queries.events,
}


class Report(msgspec.Struct, frozen=True):
    report: str
    site: str
    start: date
    end: date
    filters: dict[str, str]
    data: Any
    previous: Any = None
    """The same report for the period before, when `compare` is asked for."""


SiteId = Annotated[str, QueryParameter(name="site", max_length=64, description="a configured site's id; default: the first")]
ReportName = Annotated[str, PathParameter(description="a report's name", schema_extra={"enum": list(REPORTS)})]
TableName = Annotated[str, PathParameter(description="a table report's name",
                                         schema_extra={"enum": [name for name in REPORTS if name != "overview"]})]
Compare = Annotated[bool, QueryParameter(name="compare", description="add the same report for the period before")]
GoalsBy = Annotated[Literal["source", "campaign", "entry_page", "device_type"] | None,
                   QueryParameter(name="by", description="a dimension of the visit to break each goal down by")]
EventName = Annotated[str, QueryParameter(name="event", pattern=FILTERS["name"], description="an event's name")]
Steps = Annotated[list[Annotated[str, msgspec.Meta(max_length=251)]],
                  QueryParameter(name="step", min_items=2, max_items=6, description="event names or /paths, in order")]


def report_query(
    request: Request,
    site: SiteId = "",
    start: Annotated[date | None, QueryParameter(name="from", description="first day; default 30 days before `to`")] = None,
    end: Annotated[date | None, QueryParameter(name="to", description="last day, at most tomorrow; default today")] = None,
    filters: Annotated[list[Annotated[str, msgspec.Meta(max_length=300)]] | None,
                       QueryParameter(name="filter", max_items=len(FILTERS),
                                 description=f"`<dimension>:<value>`; the dimensions are {', '.join(FILTERS)}")] = None,
) -> ReportQuery:
    """Site, period and filters of a report request, validated (the dependency `query` of report routes)."""
    today = datetime.now(UTC).date()
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise ValidationException("'from' must not be after 'to'")
    if start < EARLIEST or end > today + timedelta(days=1):
        raise ValidationException(f"dates run from {EARLIEST} to tomorrow")
    if (end - start).days + 1 > MAX_DAYS:
        raise ValidationException(f"a report covers at most {MAX_DAYS} days")
    chosen = checked_filters(text.partition(":")[::2] for text in filters or [])
    return ReportQuery(site=known_site(request, site), start=start, end=end, filters=chosen)


def checked_filters(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Filters as dimension and value, each a dimension reports filter on with a value it can have."""
    chosen = {}
    for key, value in pairs:
        if key not in FILTERS:
            raise ValidationException(f"cannot filter on {key!r}; the filters are {', '.join(FILTERS)}")
        if not re.fullmatch(FILTERS[key], value):
            raise ValidationException(f"{key}:{value[:40]!r} is not a value {key} can have")
        chosen[key] = value
    return chosen


def known_site(request: Request, site: str) -> str:
    known = request.app.state.sites
    site = site or (known[0] if known else "")
    if site not in known:
        raise ValidationException(f"unknown site {site!r}; the sites are {', '.join(known)}")
    return site


class ReportsController(Controller):
    path = "/api/reports"
    tags = ["reports"]
    guards = [authorized]
    security = SECURED
    opt = {"roles": ALL_ROLES}
    dependencies = {"selection": Provide(report_query, sync_to_thread=False)}

    @get("/realtime", sync_to_thread=True, opt=audited("report.read"), raises=SIGNED_IN_ERRORS)
    def realtime(self, request: Request, warehouse: NamedDependency[Warehouse], site: SiteId = "") -> dict:
        """The last 30 minutes."""
        site = known_site(request, site)
        data = queries.realtime(warehouse.client, site)
        note(request, detail={"parameters": {"site": site}, "rows": len(data["pages"])})
        return data

    @get("/funnel", sync_to_thread=True, opt=audited("report.read"), raises=SIGNED_IN_ERRORS)
    def funnel(self, request: Request, warehouse: NamedDependency[Warehouse], selection: NamedDependency[ReportQuery], steps: Steps,
               compare: Compare = False) -> Report:
        """Sessions reaching each step in order; `step` repeated, event names or page paths."""
        if not all(re.fullmatch(FILTERS["path" if step.startswith("/") else "name"], step) for step in steps):
            raise ValidationException("a funnel needs 2 to 6 'step' parameters (event names or /paths)")
        return _answer(request, "funnel", warehouse.client, selection, compare,
                       lambda client, q: queries.funnel(client, q, steps), {"steps": steps})

    @get("/goals", sync_to_thread=True, opt=audited("report.read"), raises=SIGNED_IN_ERRORS)
    def goals(self, request: Request, warehouse: NamedDependency[Warehouse], selection: NamedDependency[ReportQuery],
              by: GoalsBy = None, compare: Compare = False) -> Report:
        """Per goal (and per value of `by`): visits that completed it, completions, value, conversion rate."""
        return _answer(request, "goals", warehouse.client, selection, compare,
                       lambda client, q: queries.goals(client, q, by or ""), {"by": by})

    @get("/properties", sync_to_thread=True, opt=audited("report.read"), raises=SIGNED_IN_ERRORS)
    def properties(self, request: Request, warehouse: NamedDependency[Warehouse],
                   selection: NamedDependency[ReportQuery], event: EventName, compare: Compare = False) -> Report:
        """An event's property values (masked) and pages, with their events and visitors."""
        return _answer(request, "properties", warehouse.client, selection, compare,
                       lambda client, q: queries.properties(client, q, event), {"event": event})

    @get("/{name:str}/csv", sync_to_thread=True, media_type="text/csv", opt=audited("report.export"),
         responses=json_errors(ValidationException, *SIGNED_IN_ERRORS, NotFoundException))
    def export(self, request: Request, name: TableName,
               warehouse: NamedDependency[Warehouse], selection: NamedDependency[ReportQuery]) -> Response:
        """A table report as CSV; the export is audited as such."""
        if name not in REPORTS or name == "overview":
            raise NotFoundException(f"no table report {name!r}")
        data = REPORTS[name](warehouse.client, selection)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(data[0]) if data else ["empty"], lineterminator="\n")
        writer.writeheader()
        writer.writerows({key: spreadsheet_cell(value) for key, value in row.items()} for row in data)
        note(request, detail={"parameters": msgspec.to_builtins(selection), "rows": len(data)})
        return Response(out.getvalue(), media_type="text/csv",
                        headers={"content-disposition": f'attachment; filename="{name}.csv"'})

    @get("/{name:str}", sync_to_thread=True, opt=audited("report.read"), raises=[*SIGNED_IN_ERRORS, NotFoundException])
    def report(self, request: Request, name: ReportName, warehouse: NamedDependency[Warehouse], selection: NamedDependency[ReportQuery],
               compare: Compare = False) -> Report:
        """One of: overview, timeseries, sources, campaigns, pages, entry-pages, conversions, devices, events."""
        run = REPORTS.get(name)
        if run is None:
            raise NotFoundException(f"no report {name!r}; there are "
                                    f"{', '.join([*REPORTS, 'funnel', 'goals', 'properties', 'realtime'])}")
        return _answer(request, name, warehouse.client, selection, compare, run)


def _answer(request: Request, name: str, client: Client, query: ReportQuery, compare: bool,
            run: Callable[[Client, ReportQuery], Any], extra: dict | None = None) -> Report:
    # The period before is computed on the warehouse's second client meanwhile, where it has one.
    before = beside.run(client, lambda other: run(other, query.previous())) if compare else None
    data = run(client, query)
    previous = before.result() if before else None
    rows = len(data) if isinstance(data, list) else 1
    note(request, detail={"parameters": msgspec.to_builtins(query) | {"compare": previous is not None} | (extra or {}),
                          "rows": rows})
    return Report(report=name, site=query.site, start=query.start, end=query.end, filters=query.filters,
                  data=data, previous=previous)
