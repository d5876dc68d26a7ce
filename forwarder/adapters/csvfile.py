"""Files for media-mix and geo-experiment models: one CSV per signal and window, date x dimensions."""

import csv
import io
import os
from datetime import timedelta
from pathlib import Path

import httpx
import msgspec

from forwarder.adapters.base import Item, Outcome
from forwarder.guard import Request, Shape
from forwarder.settings import CsvDestination

COLUMNS = ["date", "signal", "utm_source", "utm_medium", "utm_campaign", "utm_content", "site", "device_type",
           "conversions", "value"]


class Row(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    date: str
    signal: str
    conversions: int
    value: float
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    utm_content: str = ""
    site: str = ""
    device_type: str = ""


def _daily(item: Item) -> bool:
    return item.window_end - item.window_start >= timedelta(days=1)


def _rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))


class CsvAdapter:
    batch_size = 100_000
    deduplicates = True  # the same window's file is written again whole
    max_age = timedelta(days=3650)

    def __init__(self, destination: CsvDestination, directory: Path) -> None:
        self._destination = destination
        self._directory = directory

    def shape(self, items: list[Item]) -> Shape:
        return Shape(url=self._url(items[0]), headers={}, schema=list[Row], decode=_rows)

    def build(self, items: list[Item]) -> Request:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for item in items:
            writer.writerow({"date": item.window_start.date().isoformat() if _daily(item) else item.window_start.isoformat(),
                             "signal": item.signal,
                             "conversions": item.conversions, "value": item.value, **item.dimensions})
        return Request(method="WRITE", url=self._url(items[0]), headers={}, body=out.getvalue().encode())

    def deliver(self, request: Request, http: httpx.Client) -> Outcome:
        path = Path(request.url.removeprefix("file://"))
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        with partial.open("wb") as out:
            out.write(request.body)
            out.flush()
            os.fsync(out.fileno())
        partial.replace(path)
        return Outcome(ok=True, body=f"wrote {path.name}")

    def _url(self, item: Item) -> str:
        stamp = item.window_start.strftime("%Y-%m-%d" if _daily(item) else "%Y-%m-%dT%H")
        return f"file://{self._directory / self._destination.id / f'{item.signal}-{stamp}.csv'}"
