"""The batch writer: closed spool segments go into the warehouse, one idempotent insert each."""

import asyncio
import logging
import time
from pathlib import Path

import msgspec
from clickhouse_connect.driver.exceptions import ClickHouseError

from collector import metrics
from collector.spool import Spool, read_segment
from warehouse import Warehouse
from warehouse.events import ConsentRow, EventRow, insert_rows

log = logging.getLogger("sluice.writer")
_MAX_BACKOFF = 30.0


class Writer:
    """Owns the warehouse side of the spool; one per data dir."""

    def __init__(self, spool: Spool, warehouse: Warehouse, poll_seconds: float = 1.0) -> None:
        self._spool = spool
        self._warehouse = warehouse
        self._poll = poll_seconds
        self._quarantine = spool.directory / "quarantine"

    async def run(self) -> None:
        """Load segments as they close; while the warehouse is away, retry with growing pauses."""
        backoff = 0.0
        while True:
            if backoff:
                await asyncio.sleep(backoff)
            backoff = 0.0 if await self.load_ready() else min(_MAX_BACKOFF, max(0.5, backoff * 2))
            if not backoff:
                self._spool.closed.clear()
                try:
                    await asyncio.wait_for(self._spool.closed.wait(), self._poll)
                except TimeoutError:
                    pass

    async def load_ready(self) -> bool:
        """Load every closed segment; False if the warehouse refused one (it stays for the next try)."""
        for segment in self._spool.segments():
            try:
                await asyncio.to_thread(self._load, segment)
            except ClickHouseError as exc:
                metrics.WAREHOUSE_ERRORS.inc()
                log.error("warehouse insert failed; will retry", extra={"segment": segment.name, "error": str(exc)[:300]})
                return False
            except msgspec.DecodeError as exc:
                self._set_aside(segment, exc)
                continue
            self._spool.discard(segment)
        metrics.SPOOL_SEGMENTS.set(len(self._spool.segments()))
        metrics.SPOOL_BYTES.set(self._spool.bytes)
        return True

    async def drain(self, timeout: float) -> bool:
        """Load what is left, for a clean stop; True if the spool is empty."""
        try:
            await asyncio.wait_for(self.load_ready(), timeout)
        except TimeoutError:
            pass
        return not self._spool.segments()

    def _load(self, segment: Path) -> None:
        records = read_segment(segment)
        events = [r for r in records if isinstance(r, EventRow)]
        consents = [r for r in records if isinstance(r, ConsentRow)]
        started = time.perf_counter()
        # The segment name is the token: a replay after a crash inserts nothing twice.
        insert_rows(self._warehouse.client, "events", events, token=segment.stem)
        insert_rows(self._warehouse.client, "consent", consents, token=f"{segment.stem}:consent")
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
        metrics.EVENTS_STORED.inc(len(events))

    def _set_aside(self, segment: Path, exc: Exception) -> None:
        """A segment that cannot be read is kept for inspection, never dropped."""
        self._quarantine.mkdir(exist_ok=True)
        segment.rename(self._quarantine / segment.name)
        log.error("unreadable spool segment set aside", extra={"segment": segment.name, "error": str(exc)})
