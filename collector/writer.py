"""The batch writer: closed spool segments go into the warehouse, one idempotent insert each."""

import asyncio
import logging
import time
from pathlib import Path

from clickhouse_connect.driver.exceptions import ClickHouseError

from collector import metrics
from collector.spool import Spool, Spools, complete_lines
from warehouse import Warehouse
from warehouse.events import UnreadableRows, insert_lines
from warehouse.visits import store_events

log = logging.getLogger("sluice.writer")
_MAX_BACKOFF = 30.0


class Writer:
    """Owns the warehouse side of the spools; one per data dir."""

    def __init__(self, spools: Spools, warehouse: Warehouse, poll_seconds: float = 1.0) -> None:
        self._spools = spools
        self._warehouse = warehouse
        self._poll = poll_seconds

    async def run(self) -> None:
        """Load segments as they close; while the warehouse is away, retry with growing pauses."""
        backoff = 0.0
        closed = self._spools.events.closed
        while True:
            if backoff:
                await asyncio.sleep(backoff)
            try:
                loaded = await self.load_ready()
            except Exception:  # a disk or file error must not end the loading for good
                log.exception("spool loading failed; will retry")
                loaded = False
            backoff = 0.0 if loaded else min(_MAX_BACKOFF, max(0.5, backoff * 2))
            if not backoff:
                closed.clear()
                try:
                    await asyncio.wait_for(closed.wait(), self._poll)
                except TimeoutError:
                    pass

    async def load_ready(self) -> bool:
        """Load every closed segment; False if the warehouse refused one (it stays for the next try)."""
        for table, spool in self._spools.tables().items():
            spool.recover()
            for segment in spool.segments():
                try:
                    await asyncio.to_thread(self._load, table, spool, segment)
                except UnreadableRows as exc:
                    _set_aside(segment, exc)
                    continue
                except ClickHouseError as exc:
                    metrics.WAREHOUSE_ERRORS.inc()
                    log.error("warehouse insert failed; will retry",
                              extra={"segment": segment.name, "error": str(exc)[:300]})
                    return False
        metrics.SPOOL_SEGMENTS.set(sum(len(spool.segments()) for spool in self._spools))
        metrics.SPOOL_BYTES.set(sum(spool.disk_bytes() for spool in self._spools))
        return True

    async def drain(self, timeout: float) -> bool:
        """Load what is left, for a clean stop; True if the spools are empty."""
        try:
            await asyncio.wait_for(self.load_ready(), timeout)
        except TimeoutError:
            pass
        return not any(spool.segments() for spool in self._spools)

    def _load(self, table: str, spool: Spool, segment: Path) -> None:
        """Store a segment and then discard it, as one step for a backup (`Warehouse.writing`)."""
        lines = complete_lines(segment)
        started = time.perf_counter()
        # The segment's name is the token: a replay after a crash inserts nothing twice.
        token = f"{table}:{segment.stem}"
        with self._warehouse.writing:
            if table == "events":
                store_events(self._warehouse.client, lines, token)
            else:
                insert_lines(self._warehouse.client, table, lines, token)
            spool.discard(segment)
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
        if table == "events":
            metrics.EVENTS_STORED.inc(lines.count(b"\n"))


def _set_aside(segment: Path, exc: Exception) -> None:
    """A segment the warehouse cannot read is kept for inspection, never dropped."""
    quarantine = segment.parent / "quarantine"
    quarantine.mkdir(exist_ok=True)
    segment.rename(quarantine / segment.name)
    log.error("unreadable spool segment set aside", extra={"segment": segment.name, "error": str(exc)})
