"""GET/POST/DELETE /api/annotations: notes on the time series, each one's author kept and every change audited."""

from datetime import UTC, date, datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody

from api.accounts import Role
from api.audit import audited, note
from api.auth import ALL_ROLES, SECURED, SIGNED_IN_ERRORS, authorized
from api.errors import NoSuchAnnotation, OthersAnnotation
from api.reports import SiteId, known_site, report_query
from warehouse import Warehouse
from warehouse.annotations import Annotation, Annotations
from warehouse.privacy import DETECTORS
from warehouse.reports import ReportQuery
from warehouse.schema import TIMES, storable

_WRITERS = {Role.MARKETER, Role.ANALYST, Role.ADMIN}
# What an annotation may not hold. Dates, ZIP-like numbers and site addresses are what annotations are made of.
_REFUSED = {kind: DETECTORS[kind] for kind in
            ("an email address", "a phone number", "a social security number", "a record number", "an IP address")}


class NewAnnotation(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    day: date
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    site: Annotated[str, msgspec.Meta(max_length=64)] = ""


class AnnotationsController(Controller):
    path = "/api/annotations"
    tags = ["annotations"]
    guards = [authorized]
    security = SECURED
    opt = {"roles": ALL_ROLES}
    dependencies = {"selection": Provide(report_query, sync_to_thread=False)}

    @get(sync_to_thread=True, opt=audited("annotation.read"), raises=SIGNED_IN_ERRORS)
    def list_annotations(self, request: Request, warehouse: NamedDependency[Warehouse],
                         selection: NamedDependency[ReportQuery]) -> list[Annotation]:
        """A site's annotations in a period (the reports' `site`, `from` and `to`), oldest first."""
        found = Annotations(warehouse.client).within(selection.site, selection.start, selection.end)
        note(request, detail={"parameters": {"site": selection.site, "from": str(selection.start),
                                             "to": str(selection.end)}, "rows": len(found)})
        return found

    @post(sync_to_thread=True, opt={"roles": _WRITERS} | audited("annotation.add"), raises=SIGNED_IN_ERRORS)
    def add_annotation(self, request: Request, warehouse: NamedDependency[Warehouse],
                       data: JSONBody[NewAnnotation]) -> Annotation:
        """Annotate a day; the text may not look like a name, contact or record of anyone."""
        text = " ".join(data.text.split())
        if not text or not storable(_midnight(data.day)):
            raise ValidationException(f"an annotation needs some text and a day {TIMES}")
        for kind, pattern in _REFUSED.items():
            if pattern.search(text):
                raise ValidationException(f"the text looks like it holds {kind}: annotations are read by everyone "
                                          "with a login, so keep people and records out of them")
        site = known_site(request, data.site)
        added = Annotations(warehouse.client).add(site, data.day, text, request.state.session.username)
        note(request, resource=f"annotation:{added.annotation_id}", detail={"site": site, "day": str(data.day)})
        return added

    @delete("/{annotation_id:uuid}", sync_to_thread=True, status_code=204, opt={"roles": _WRITERS}
            | audited("annotation.remove"), raises=[*SIGNED_IN_ERRORS, NoSuchAnnotation])
    def remove_annotation(self, request: Request, warehouse: NamedDependency[Warehouse],
                          annotation_id: FromPath[UUID], site: SiteId = "") -> None:
        """Remove an annotation: its author may, and an admin."""
        annotations, session = Annotations(warehouse.client), request.state.session
        note(request, resource=f"annotation:{annotation_id}")
        found = annotations.find(known_site(request, site), annotation_id)
        if found is None:
            raise NoSuchAnnotation(f"no annotation {annotation_id} on this site")
        if found.author != session.username and session.role != Role.ADMIN:
            raise OthersAnnotation(f"only {found.author} or an admin may remove this annotation")
        annotations.remove(found, session.username)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
