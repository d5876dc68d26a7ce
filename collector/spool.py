"""The durable spool: accepted records are on disk, fsynced, before anyone is told they were accepted.

One thread owns the open segment. Appends queue their bytes and wait; the thread takes all that
is queued, writes it with one write and one fsync (group commit), and wakes every waiter at once.
A segment is closed after a number of records or seconds; closed segments wait for the writer.
A segment still open after a crash is closed on start, its torn last line (never acknowledged)
ignored when read.
"""

import asyncio
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from queue import Empty, SimpleQueue

import msgspec

from warehouse.events import ConsentRow, EventRow

log = logging.getLogger("sluice.spool")
Record = EventRow | ConsentRow
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(list[Record])
_OPEN, _CLOSED = ".open", ".seg"
_STOP = None


class SpoolFull(Exception):
    """The spool has reached its disk cap; the caller should retry later."""


class Spool:
    def __init__(self, directory: Path, *, max_bytes: int, segment_records: int, segment_seconds: float) -> None:
        self.directory = directory
        self._max_bytes = max_bytes
        self._segment_records = segment_records
        self._segment_seconds = segment_seconds
        self._queue: SimpleQueue = SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
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
        self._queue.put((data, len(records), done))
        await done

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
        """Run the spool's thread while in use; on exit, write what is queued and close the segment."""
        self._loop = asyncio.get_running_loop()
        thread = threading.Thread(target=self._run, name="spool", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._queue.put(_STOP)
            await asyncio.to_thread(thread.join)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                batch = [self._queue.get(timeout=self._segment_seconds / 4)]
            except Empty:
                if self._fd is not None and time.monotonic() - self._opened_at >= self._segment_seconds:
                    self._close_segment()
                continue
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except Empty:
                    break
            if _STOP in batch:
                stopping = True
                batch = [item for item in batch if item is not _STOP]
            self._commit(batch)
        self._close_segment()

    def _commit(self, batch: list[tuple[bytes, int, asyncio.Future]]) -> None:
        if not batch:
            return
        try:
            self._write(b"".join(data for data, _, _ in batch), sum(records for _, records, _ in batch))
            error = None
        except OSError as exc:
            log.error("spool write failed", extra={"error": str(exc)})
            error = exc
        self._loop.call_soon_threadsafe(self._settle, batch, error)

    def _settle(self, batch: list[tuple[bytes, int, asyncio.Future]], error: OSError | None) -> None:
        for data, _, done in batch:
            if error:
                self.bytes -= len(data)
            if not done.done():
                done.set_exception(error) if error else done.set_result(None)

    def _write(self, data: bytes, records: int) -> None:
        if self._fd is None:
            self._path = self.directory / f"{time.time_ns():020d}-{os.getpid()}{_OPEN}"
            self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._opened_at, self._records = time.monotonic(), 0
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]
        os.fsync(self._fd)
        self._records += records
        if self._records >= self._segment_records:
            self._close_segment()

    def _close_segment(self) -> None:
        if self._fd is None:
            return
        os.close(self._fd)
        self._path.rename(self._path.with_suffix(_CLOSED))
        self._fd = self._path = None
        self._loop.call_soon_threadsafe(self.closed.set)


def read_segment(segment: Path) -> list[Record]:
    """Every record in a closed segment; a torn last line was never acknowledged and is skipped."""
    lines = segment.read_bytes().split(b"\n")
    records: list[Record] = []
    for line in lines[:-1]:
        records.extend(_decoder.decode(line))
    if lines[-1]:
        log.warning("skipped a torn last line", extra={"segment": segment.name, "line": len(lines)})
    return records
