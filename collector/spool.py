"""The durable spool: accepted records are on disk, fsynced, before anyone is told they were accepted.

Concurrent appends share one write and one fsync (group commit). Records go to an open segment
that is closed after a number of records or seconds; closed segments wait for the writer.
A segment still open after a crash is closed on start, its torn last line (never acknowledged)
ignored when read.
"""

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import msgspec

from warehouse.events import ConsentRow, EventRow

log = logging.getLogger("sluice.spool")
Record = EventRow | ConsentRow
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(list[Record])
_OPEN, _CLOSED = ".open", ".seg"


class SpoolFull(Exception):
    """The spool has reached its disk cap; the caller should retry later."""


class Spool:
    def __init__(self, directory: Path, *, max_bytes: int, segment_records: int, segment_seconds: float) -> None:
        self.directory = directory
        self._max_bytes = max_bytes
        self._segment_records = segment_records
        self._segment_seconds = segment_seconds
        self._pending: list[tuple[bytes, int, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self._fd: int | None = None
        self._path: Path | None = None
        self._opened_at = 0.0
        self._records = 0
        self.closed = asyncio.Event()
        """Set whenever a segment is closed and ready for the writer."""
        directory.mkdir(parents=True, exist_ok=True)
        for left_open in directory.glob(f"*{_OPEN}"):
            left_open.rename(left_open.with_suffix(_CLOSED))
        self.bytes = sum(path.stat().st_size for path in directory.glob(f"*{_CLOSED}"))

    async def append(self, records: Sequence[Record]) -> None:
        """Return once `records` are on disk; raise `SpoolFull` at the cap, `OSError` if the disk fails."""
        data = _encoder.encode(records) + b"\n"
        if self.bytes + len(data) > self._max_bytes:
            raise SpoolFull(f"the spool holds {self.bytes} bytes, its cap is {self._max_bytes}")
        self.bytes += len(data)
        done = asyncio.get_running_loop().create_future()
        self._pending.append((data, len(records), done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await asyncio.shield(done)

    def segments(self) -> list[Path]:
        """Closed segments, oldest first."""
        return sorted(self.directory.glob(f"*{_CLOSED}"))

    def discard(self, segment: Path) -> None:
        """Forget a segment the warehouse now holds."""
        size = segment.stat().st_size
        segment.unlink()
        self.bytes -= size

    @asynccontextmanager
    async def running(self) -> AsyncIterator["Spool"]:
        """Close segments on time while in use; close the open one on exit."""
        ticker = asyncio.create_task(self._close_on_time())
        try:
            yield self
        finally:
            ticker.cancel()
            if self._flusher:
                await self._flusher
            await self._close_now()

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            async with self._lock:
                try:
                    data, records = b"".join(d for d, _, _ in batch), sum(n for _, n, _ in batch)
                    if await asyncio.to_thread(self._write, data, records):
                        self.closed.set()
                except OSError as exc:
                    log.error("spool write failed", extra={"error": str(exc)})
                    self.bytes -= sum(len(d) for d, _, _ in batch)
                    for _, _, done in batch:
                        done.set_exception(exc)
                    continue
            for _, _, done in batch:
                done.set_result(None)

    def _write(self, data: bytes, records: int) -> bool:
        """Append and fsync; True if this filled the segment and closed it."""
        if self._fd is None:
            self._path = self.directory / f"{time.time_ns():020d}-{os.getpid()}{_OPEN}"
            self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._opened_at, self._records = time.monotonic(), 0
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]
        os.fsync(self._fd)
        self._records += records
        return self._records >= self._segment_records and self._close_segment()

    def _close_segment(self) -> bool:
        if self._fd is None:
            return False
        os.close(self._fd)
        self._path.rename(self._path.with_suffix(_CLOSED))
        self._fd = self._path = None
        return True

    async def _close_now(self) -> None:
        async with self._lock:
            if await asyncio.to_thread(self._close_segment):
                self.closed.set()

    async def _close_on_time(self) -> None:
        while True:
            await asyncio.sleep(self._segment_seconds / 4)
            if self._fd is not None and time.monotonic() - self._opened_at >= self._segment_seconds:
                await self._close_now()


def read_segment(segment: Path) -> list[Record]:
    """Every record in a closed segment; a torn last line was never acknowledged and is skipped."""
    lines = segment.read_bytes().split(b"\n")
    records: list[Record] = []
    for line in lines[:-1]:
        records.extend(_decoder.decode(line))
    if lines[-1]:
        log.warning("skipped a torn last line", extra={"segment": segment.name, "line": len(lines)})
    return records
