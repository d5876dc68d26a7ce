"""GET/PUT/DELETE /api/views: each user's own saved views of the reports, every change audited."""

import re

from litestar import Controller, Request, delete, get, put
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody

from api.audit import audited, note
from api.auth import ALL_ROLES, SECURED, SIGNED_IN_ERRORS, authorized
from api.errors import NoSuchView, Unavailable
from api.reports import checked_filters, known_site
from mail import MailSettings
from warehouse.privacy import identifier_in_note
from warehouse import Warehouse
from warehouse.views import NamedView, SavedView, SavedViews

MAX_VIEWS = 50
_NAME = re.compile(r"[\w .,:()+-]{1,60}")


class ViewsController(Controller):
    path = "/api/views"
    tags = ["views"]
    guards = [authorized]
    security = SECURED
    opt = {"roles": ALL_ROLES}

    @get(sync_to_thread=True, opt=audited("view.read"), raises=SIGNED_IN_ERRORS)
    def list_views(self, request: Request, warehouse: NamedDependency[Warehouse]) -> list[NamedView]:
        """Your saved views, by name."""
        views = SavedViews(warehouse.client).of(request.state.session.username)
        note(request, detail={"rows": len(views)})
        return views

    @put("/{name:path}", sync_to_thread=True, opt=audited("view.save"), raises=[*SIGNED_IN_ERRORS, Unavailable])
    def save_view(self, request: Request, warehouse: NamedDependency[Warehouse], name: FromPath[str],
                  data: JSONBody[SavedView]) -> NamedView:
        """Save the view under a name of yours (1 to 60 letters, digits, spaces and `.,:()+-`), or replace it."""
        name = name.removeprefix("/")  # a path parameter, so that a name with a slash is refused, not unrouted
        if not _NAME.fullmatch(name) or not name.strip():
            raise ValidationException("a view's name is 1 to 60 letters, digits, spaces or .,:()+-")
        checked_filters(data.filters.items())
        known_site(request, data.site)
        if data.email:
            _check_recipients(request.app.state.mail, data.email.to)
            if kind := identifier_in_note(name):  # the name is the email's subject, read outside the dashboard
                raise ValidationException(f"the name looks like it holds {kind}: an emailed view's name is its "
                                          "subject line, so keep people and records out of it")
        views, username = SavedViews(warehouse.client), request.state.session.username
        names = {v.name for v in views.of(username)}
        if name not in names and len(names) >= MAX_VIEWS:  # checked, then saved: two at once may make a 51st
            raise ValidationException(f"you have {MAX_VIEWS} saved views, the most there may be: remove one first")
        note(request, resource=f"view:{name}")
        return views.save(username, name, data)

    @delete("/{name:path}", sync_to_thread=True, status_code=204, opt=audited("view.remove"),
            raises=[*SIGNED_IN_ERRORS, NoSuchView])
    def remove_view(self, request: Request, warehouse: NamedDependency[Warehouse], name: FromPath[str]) -> None:
        name, views, username = name.removeprefix("/"), SavedViews(warehouse.client), request.state.session.username
        note(request, resource=f"view:{name}")
        if name not in {v.name for v in views.of(username)}:
            raise NoSuchView(f"you have no saved view {name!r}")
        views.remove(username, name)


def _check_recipients(mail: MailSettings, to: list[str]) -> None:
    """A view is emailed through the configured relay, to the organisation's own addresses only."""
    if not mail.relay:
        raise Unavailable("no mail relay is configured ([mail] relay in the config), so no view can be emailed")
    if outside := [address for address in to if not mail.internal(address)]:
        raise ValidationException(f"{', '.join(outside)}: reports go only to addresses at "
                                  f"{', '.join(mail.internal_domains)}")
