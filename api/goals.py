"""GET/POST/DELETE /api/goals: the conversions an analyst names, each change audited."""

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody

from api.accounts import Role
from api.audit import audited, note
from api.auth import ALL_ROLES, SECURED, SIGNED_IN_ERRORS, authorized
from api.errors import NoSuchGoal
from api.reports import SiteId, known_site
from warehouse import Warehouse
from warehouse.goals import MAX_GOALS, Goal, GoalKind, Goals
from warehouse.privacy import identifier_in_note, masked_path, plain_text
from warehouse.reports import FILTERS

_DEFINERS = {Role.ANALYST, Role.ADMIN}
_PAGE_PATTERN = FILTERS["path"].replace("%-]", "%*-]")
"""A path filter's pattern, with `*` for any characters."""


class NewGoal(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    event: Annotated[str, msgspec.Meta(pattern=FILTERS["name"], description="an event's name")] = ""
    page: Annotated[str, msgspec.Meta(pattern=_PAGE_PATTERN, description="a path; * stands for any characters")] = ""
    value: Annotated[float, msgspec.Meta(ge=0, le=1_000_000)] = 0.0
    """What one completion is worth, where its event carries no `value` property."""
    site: Annotated[str, msgspec.Meta(max_length=64)] = ""


class GoalsController(Controller):
    path = "/api/goals"
    tags = ["goals"]
    guards = [authorized]
    security = SECURED
    opt = {"roles": ALL_ROLES}

    @get(sync_to_thread=True, opt=audited("goal.read"), raises=SIGNED_IN_ERRORS)
    def list_goals(self, request: Request, warehouse: NamedDependency[Warehouse], site: SiteId = "") -> list[Goal]:
        """A site's goals, oldest first."""
        found = Goals(warehouse.client).of(known_site(request, site))
        note(request, detail={"rows": len(found)})
        return found

    @post(sync_to_thread=True, opt={"roles": _DEFINERS} | audited("goal.add"), raises=SIGNED_IN_ERRORS)
    def add_goal(self, request: Request, warehouse: NamedDependency[Warehouse], data: JSONBody[NewGoal]) -> Goal:
        """Name a conversion: an event's name or a page path pattern (one of the two)."""
        name = plain_text(data.name)
        if not name:
            raise ValidationException("a goal needs a name that shows")
        if kind := identifier_in_note(name):
            raise ValidationException(f"the name looks like it holds {kind}: goals are read by everyone with a "
                                      "login, so keep people and records out of them")
        if bool(data.event) == bool(data.page):
            raise ValidationException("a goal is completed by an event or by a page: give 'event' or 'page'")
        site, goals = known_site(request, data.site), Goals(warehouse.client)
        current = goals.of(site)
        if len(current) >= MAX_GOALS:
            raise ValidationException(f"{site} has {MAX_GOALS} goals, the most a site may have: remove one first")
        if any(goal.name == name for goal in current):
            raise ValidationException(f"{site} has a goal named {name!r} already")
        if data.page and masked_path(data.page) != data.page:
            raise ValidationException("the page looks like it holds a record or account number: goals are read by "
                                      "everyone with a login, so name the page with * in its place")
        kind, pattern = (GoalKind.EVENT, data.event) if data.event else (GoalKind.PAGE, data.page)
        added = goals.add(site, name, kind, pattern, data.value, request.state.session.username)
        note(request, resource=f"goal:{added.goal_id}", detail={"site": site, "kind": str(kind), "pattern": pattern})
        return added

    @delete("/{goal_id:uuid}", sync_to_thread=True, status_code=204, opt={"roles": _DEFINERS} | audited("goal.remove"),
            raises=[*SIGNED_IN_ERRORS, NoSuchGoal])
    def remove_goal(self, request: Request, warehouse: NamedDependency[Warehouse], goal_id: FromPath[UUID],
                    site: SiteId = "") -> None:
        """Remove a goal: its figures go with it, its definition stays on record."""
        note(request, resource=f"goal:{goal_id}")
        goals = Goals(warehouse.client)
        found = next((goal for goal in goals.of(known_site(request, site)) if goal.goal_id == goal_id), None)
        if found is None:
            raise NoSuchGoal(f"no goal {goal_id} on this site")
        goals.remove(found, request.state.session.username)
