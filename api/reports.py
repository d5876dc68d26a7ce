"""GET /api/reports/<name>: validated parameters, typed answers, and every read audited."""

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath

from api.audit import audited, note
from api.auth import ALL_ROLES, authorized
from warehouse import Warehouse
from warehouse import reports as queries
from warehouse.privacy import spreadsheet_cell
from warehouse.reports import FILTERS, ReportQuery

MAX_DAYS = 400
_EARLIEST = date(2000, 1, 1)
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


class ReportsController(Controller):
    path = "/api/reports"
    tags = ["reports"]
    guards = [authorized]
    opt = {"roles": ALL_ROLES}

    @get("/realtime", sync_to_thread=True, opt=audited("report.read"))
    def realtime(self, request: Request, warehouse: NamedDependency[Warehouse]) -> dict:
        """The last 30 minutes."""
        site = _site(request)
        data = queries.realtime(warehouse.client, site)
        note(request, detail={"parameters": {"site": site}, "rows": len(data["pages"])})
        return data

    @get("/funnel", sync_to_thread=True, opt=audited("report.read"))
    def funnel(self, request: Request, warehouse: NamedDependency[Warehouse]) -> Report:
        """Sessions reaching each step in order; `step` repeated, event names or page paths."""
        query = report_query(request)
        steps = request.query_params.getall("step", [])
        valid = [re.fullmatch(FILTERS["path" if step.startswith("/") else "name"], step) for step in steps]
        if not 2 <= len(steps) <= 6 or not all(valid):
            raise ValidationException("a funnel needs 2 to 6 'step' parameters (event names or /paths)")
        return _answer(request, "funnel", query, lambda q: queries.funnel(warehouse.client, q, steps), {"steps": steps})

    @get("/{name:str}/csv", sync_to_thread=True, media_type="text/csv", opt=audited("report.export"))
    def export(self, request: Request, name: FromPath[str], warehouse: NamedDependency[Warehouse]) -> Response:
        """A table report as CSV; the export is audited as such."""
        if name not in REPORTS or name == "overview":
            raise NotFoundException(f"no table report {name!r}")
        data = REPORTS[name](warehouse.client, query := report_query(request))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(data[0]) if data else ["empty"], lineterminator="\n")
        writer.writeheader()
        writer.writerows({key: spreadsheet_cell(value) for key, value in row.items()} for row in data)
        note(request, detail={"parameters": msgspec.to_builtins(query), "rows": len(data)})
        return Response(out.getvalue(), media_type="text/csv",
                        headers={"content-disposition": f'attachment; filename="{name}.csv"'})

    @get("/{name:str}", sync_to_thread=True, opt=audited("report.read"))
    def report(self, request: Request, name: FromPath[str], warehouse: NamedDependency[Warehouse]) -> Report:
        """One of: overview, timeseries, sources, campaigns, pages, entry-pages, conversions, devices."""
        run = REPORTS.get(name)
        if run is None:
            raise NotFoundException(f"no report {name!r}; there are {', '.join([*REPORTS, 'funnel', 'realtime'])}")
        return _answer(request, name, report_query(request), lambda q: run(warehouse.client, q))


def _answer(request: Request, name: str, query: ReportQuery, run: Callable, extra: dict | None = None) -> Report:
    data = run(query)
    previous = run(query.previous()) if request.query_params.get("compare") in ("1", "true") else None
    rows = len(data) if isinstance(data, list) else 1
    note(request, detail={"parameters": msgspec.to_builtins(query) | {"compare": previous is not None} | (extra or {}),
                          "rows": rows})
    return Report(report=name, site=query.site, start=query.start, end=query.end, filters=query.filters,
                  data=data, previous=previous)


def report_query(request: Request) -> ReportQuery:
    """Site, period and filters of a report request, validated."""
    params = request.query_params
    today = datetime.now(UTC).date()
    end = _date(params.get("to"), "to") or today
    start = _date(params.get("from"), "from") or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise ValidationException("'from' must not be after 'to'")
    if start < _EARLIEST or end > today + timedelta(days=1):
        raise ValidationException(f"dates run from {_EARLIEST} to tomorrow")
    if (end - start).days + 1 > MAX_DAYS:
        raise ValidationException(f"a report covers at most {MAX_DAYS} days")
    filters = {}
    for text in params.getall("filter", []):
        key, _, value = text.partition(":")
        if key not in FILTERS:
            raise ValidationException(f"cannot filter on {key!r}; the filters are {', '.join(FILTERS)}")
        if not re.fullmatch(FILTERS[key], value):
            raise ValidationException(f"{key}:{value[:40]!r} is not a value {key} can have")
        filters[key] = value
    return ReportQuery(site=_site(request), start=start, end=end, filters=filters)


def _site(request: Request) -> str:
    known = request.app.state.sites
    site = request.query_params.get("site") or (known[0] if known else "")
    if site not in known:
        raise ValidationException(f"unknown site {site!r}; the sites are {', '.join(known)}")
    return site


def _date(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationException(f"'{name}' must be a date like 2026-11-01") from None

