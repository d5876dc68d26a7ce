"""Each user's saved views of the reports (a name for a period length, comparison, site and filters), kept
append-only: the latest row per user and name is in force, a removal is a row of its own."""

from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec
from clickhouse_connect.driver.client import Client

from warehouse.reports import FILTERS


Address = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._+-]{1,64}@[A-Za-z0-9.-]{1,253}\Z", max_length=254,
                                      description="an email address like marketing@example-hospital.org")]


class Emailed(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A view's figures emailed each week (the week to Sunday, on Monday) or month (on the 1st, the month before)."""

    every: Literal["week", "month"]
    to: Annotated[list[Address], msgspec.Meta(min_length=1, max_length=20)]


class SavedView(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a saved view opens: the last `days` days to today, with its comparison, site and filters; and whether
    it is emailed."""

    days: Annotated[int, msgspec.Meta(ge=1, le=400)] = 30
    compare: bool = True
    site: Annotated[str, msgspec.Meta(max_length=64)] = ""
    filters: Annotated[dict[str, Annotated[str, msgspec.Meta(max_length=300)]],
                       msgspec.Meta(max_length=len(FILTERS))] = {}
    email: Emailed | None = None


class NamedView(msgspec.Struct, frozen=True):
    name: str
    view: SavedView
    saved_at: datetime


_CURRENT = """
    SELECT name, argMax(view, changed_at), max(changed_at), argMax(deleted, changed_at) AS removed
    FROM saved_views WHERE username = {username:String} GROUP BY name HAVING NOT removed ORDER BY name"""


_EMAILED = """
    SELECT username, name, argMax(view, changed_at) AS latest, max(changed_at), argMax(deleted, changed_at) AS removed
    FROM saved_views GROUP BY username, name HAVING NOT removed AND latest LIKE '%"email":{%' ORDER BY username, name"""


def _read(text: str) -> SavedView | None:
    try:
        view = msgspec.json.decode(text, type=SavedView)
    except msgspec.ValidationError:
        return None
    return view if set(view.filters) <= set(FILTERS) else None


class SavedViews:
    def __init__(self, client: Client) -> None:
        self._client = client

    def of(self, username: str) -> list[NamedView]:
        """A user's views by name; one that no longer reads as a view (its filter was retired) is left out."""
        rows = self._client.query(_CURRENT, parameters={"username": username}).result_rows
        return [NamedView(name, view, at) for name, text, at, _ in rows if (view := _read(text)) is not None]

    def emailed(self) -> list[tuple[str, NamedView]]:
        """Every user's views that are emailed, with their owners."""
        rows = self._client.query(_EMAILED).result_rows
        return [(user, NamedView(name, view, at)) for user, name, text, at, _ in rows
                if (view := _read(text)) is not None and view.email is not None]

    def save(self, username: str, name: str, view: SavedView) -> NamedView:
        saved = NamedView(name, view, datetime.now(UTC))
        self._append(username, name, msgspec.json.encode(view).decode(), deleted=False, at=saved.saved_at)
        return saved

    def remove(self, username: str, name: str) -> None:
        self._append(username, name, "{}", deleted=True, at=datetime.now(UTC))

    def _append(self, username: str, name: str, view: str, *, deleted: bool, at: datetime) -> None:
        self._client.insert("saved_views", [[username, name, view, deleted, at]],
                            column_names=["username", "name", "view", "deleted", "changed_at"],
                            settings={"async_insert": 0})
