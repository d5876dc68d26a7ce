"""Notes on the time series ("Knee campaign launched"), kept append-only: a removal is a row of its own."""

import uuid
from datetime import UTC, date, datetime
from uuid import UUID

import msgspec
from clickhouse_connect.driver.client import Client


class Annotation(msgspec.Struct, frozen=True, kw_only=True):
    annotation_id: UUID
    site: str
    day: date
    text: str
    author: str
    created_at: datetime


_CURRENT = """
    SELECT annotation_id, any(site), argMax(day, changed_at) AS shown_on, argMax(text, changed_at),
           argMin(changed_by, changed_at), min(changed_at), argMax(deleted, changed_at) AS removed
    FROM annotations WHERE site = {site:String} %s GROUP BY annotation_id HAVING NOT removed %s
    ORDER BY shown_on, min(changed_at) LIMIT 2000"""
_COLUMNS = ["annotation_id", "site", "day", "text", "deleted", "changed_at", "changed_by"]


class Annotations:
    """The annotations of every site in the warehouse."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def add(self, site: str, day: date, text: str, author: str) -> Annotation:
        annotation = Annotation(annotation_id=uuid.uuid4(), site=site, day=day, text=text, author=author,
                                created_at=datetime.now(UTC))
        self._append(annotation, deleted=False, by=author)
        return annotation

    def remove(self, annotation: Annotation, by: str) -> None:
        self._append(annotation, deleted=True, by=by)

    def find(self, site: str, annotation_id: UUID) -> Annotation | None:
        found = self._current(site, "AND annotation_id = {id:UUID}", "", {"id": annotation_id})
        return found[0] if found else None

    def within(self, site: str, start: date, end: date) -> list[Annotation]:
        """A site's annotations on the days from `start` to `end`, oldest first (at most 2,000)."""
        return self._current(site, "", "AND shown_on BETWEEN {start:Date} AND {end:Date}",
                             {"start": start, "end": end})

    def _current(self, site: str, only: str, within: str, parameters: dict) -> list[Annotation]:
        rows = self._client.query(_CURRENT % (only, within), parameters={"site": site} | parameters).result_rows
        return [Annotation(annotation_id=i, site=s, day=d, text=t, author=a, created_at=c)
                for i, s, d, t, a, c, _ in rows]

    def _append(self, annotation: Annotation, *, deleted: bool, by: str) -> None:
        row = [annotation.annotation_id, annotation.site, annotation.day, annotation.text, deleted,
               datetime.now(UTC), by]
        self._client.insert("annotations", [row], column_names=_COLUMNS, settings={"async_insert": 0})
