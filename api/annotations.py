"""GET/POST/DELETE /api/annotations: notes on the time series, each one's author kept and every change audited."""

from datetime import UTC, date, datetime, timedelta
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
from api.reports import EARLIEST, SiteId, known_site, report_query
from warehouse import Warehouse
from warehouse.annotations import Annotation, Annotations
from warehouse.privacy import identifier_in_note, plain_text
from warehouse.reports import ReportQuery

_WRITERS = {Role.MARKETER, Role.ANALYST, Role.ADMIN}
PER_DAY = 5
"""Annotations a site's day may hold: enough for a team, too few for one colleague's flood to bury the rest."""


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
        """Annotate a day (up to tomorrow); the text may not look like a contact or record of anyone."""
        # As far ahead as a report reads: an annotation further ahead could not be listed until then.
        text, latest = plain_text(data.text), datetime.now(UTC).date() + timedelta(days=1)
        if not text:
            raise ValidationException("an annotation needs some text that shows")
        if not EARLIEST <= data.day <= latest:
            raise ValidationException(f"an annotation's day is from {EARLIEST} to {latest}")
        if kind := identifier_in_note(text):
            raise ValidationException(f"the text looks like it holds {kind}: annotations are read by everyone "
                                      "with a login, so keep people and records out of them")
        site, annotations = known_site(request, data.site), Annotations(warehouse.client)
        # Checked, then added: two at once may make a sixth, which is harmless.
        if len(annotations.within(site, data.day, data.day)) >= PER_DAY:
            raise ValidationException(f"{data.day} has {PER_DAY} annotations already, the most a day may have")
        added = annotations.add(site, data.day, text, request.state.session.username)
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

