"""The durable spool: accepted records are on disk, fsynced, before anyone is told they were accepted.

One thread owns the open segment. Appends queue their bytes and wait; the thread takes all that
is queued, writes it with one write and one fsync (group commit), and wakes every waiter at once.
A segment is closed after a number of records or seconds; closed segments wait for the writer.
Several processes may append to one spool directory, each to its own segments, which it holds
locked while it writes them. A segment left open by a process that died (its lock went with it)
is closed by `recover`, its torn last line (never acknowledged) left out when read.
"""

import asyncio
import fcntl
import logging
import os
import secrets
import threading
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import NamedTuple, TypeVar

import msgspec

from collector.errors import CollectorError
from collector.settings import CollectorSettings
from warehouse.events import encode_rows

log = logging.getLogger("sluice.spool")
Row = TypeVar("Row", bound=msgspec.Struct)
_OPEN, _CLOSED = ".open", ".seg"
_STOP = None


class SpoolFull(CollectorError):
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
        self._unwritten = 0
        self._rescanned = 0.0
        self.closed = asyncio.Event()
        """Set whenever this process closes a segment, ready for the writer."""
        directory.mkdir(parents=True, exist_ok=True)
        self.recover()
        self._on_disk = self.disk_bytes()

    @property
    def bytes(self) -> int:
        """Bytes the spool holds or is about to, counting every process's segments."""
        return self._on_disk + self._unwritten

    def recover(self) -> None:
        """Close the segments whose writer is gone: its lock on the open file died with it."""
        for left_open in self.directory.glob(f"*{_OPEN}"):
            try:
                fd = os.open(left_open, os.O_RDONLY)
            except FileNotFoundError:
                continue  # closed by its owner meanwhile
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live process still writes it (this one, or another)
            else:
                left_open.rename(left_open.with_suffix(_CLOSED))
                _sync_directory(self.directory)
            finally:
                os.close(fd)

    async def append(self, records: Sequence[msgspec.Struct]) -> None:
        """Return once `records` are on disk; raise `SpoolFull` at the cap, `OSError` if the disk fails."""
        data = encode_rows(records)
        if self.bytes + len(data) > self._max_bytes:
            raise SpoolFull(f"the spool holds {self.bytes} bytes, its cap is {self._max_bytes}")
        self._unwritten += len(data)
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
        self._on_disk -= size

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
            batch = self._next_batch()
            if _STOP in batch:
                stopping = True
                batch = [item for item in batch if item is not _STOP]
            try:
                if batch:
                    self._commit(batch)
                if self._fd is not None and time.monotonic() - self._opened_at >= self._segment_seconds:
                    self._close_segment()
                self._rescan()
            except Exception:  # the thread must outlive any one failure, or every append would hang
                log.exception("spool thread error")
        self._close_segment()

    def _next_batch(self) -> list:
        """All that is queued, waiting at most until the open segment is due to close."""
        due = self._opened_at + self._segment_seconds if self._fd is not None else time.monotonic() + 1.0
        try:
            batch = [self._queue.get(timeout=max(0.01, due - time.monotonic()))]
        except Empty:
            return []
        while True:
            try:
                batch.append(self._queue.get_nowait())
            except Empty:
                return batch

    def _commit(self, batch: list[tuple[bytes, int, asyncio.Future]]) -> None:
        try:
            self._write(b"".join(data for data, _, _ in batch), sum(records for _, records, _ in batch))
            error = None
        except OSError as exc:
            log.error("spool write failed", extra={"error": str(exc)})
            error = exc
        self._loop.call_soon_threadsafe(self._settle, batch, error)

    def _settle(self, batch: list[tuple[bytes, int, asyncio.Future]], error: OSError | None) -> None:
        for data, _, done in batch:
            self._unwritten -= len(data)
            if not error:
                self._on_disk += len(data)
            if done.done():
                continue
            if error:
                done.set_exception(error)
            else:
                done.set_result(None)

    def _write(self, data: bytes, records: int) -> None:
        """Append and fsync, or leave the segment as it was and start the next one in a new file."""
        if self._fd is None:
            self._open_segment()
        start = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
            os.fsync(self._fd)
        except OSError:
            # A torn line must not sit before the next batch's lines: cut it off, and end this file.
            try:
                os.ftruncate(self._fd, start)
                os.fsync(self._fd)
            finally:
                self._close_segment()
            raise
        self._records += records
        if self._records >= self._segment_records:
            self._close_segment()

    def _open_segment(self) -> None:
        # The name becomes the warehouse's deduplication token, shared by every collector on it: the random
        # part keeps two hosts' segments apart when their clocks and process ids agree (pid 1 in containers).
        path = self.directory / f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}{_OPEN}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # says "alive" to `recover` in every process
        _sync_directory(self.directory)
        self._fd, self._path, self._opened_at, self._records = fd, path, time.monotonic(), 0

    def _close_segment(self) -> None:
        if self._fd is None:
            return
        fd, path, self._fd, self._path = self._fd, self._path, None, None
        try:
            path.rename(path.with_suffix(_CLOSED))
            _sync_directory(self.directory)
        finally:
            os.close(fd)  # after the rename: the lock keeps `recover` off it until then
        self._loop.call_soon_threadsafe(self.closed.set)

    def _rescan(self) -> None:
        """Other processes add segments and the writer removes them: look at the disk now and then."""
        if time.monotonic() - self._rescanned >= 1.0:
            self._rescanned = time.monotonic()
            on_disk = self.disk_bytes()
            self._loop.call_soon_threadsafe(setattr, self, "_on_disk", on_disk)

    def disk_bytes(self) -> int:
        """What this spool's files take on disk, quarantined segments included."""
        total = 0
        for folder in (self.directory, self.directory / "quarantine"):
            try:
                entries = list(os.scandir(folder))
            except FileNotFoundError:
                continue
            for entry in entries:
                try:
                    total += entry.stat().st_size if entry.is_file() else 0
                except FileNotFoundError:
                    pass
        return total


class Spools(NamedTuple):
    """One spool per warehouse table, so each segment is one table's rows."""

    events: Spool
    consent: Spool
    tracker_findings: Spool
    """Content-Security-Policy violations browsers report."""

    @classmethod
    def open(cls, directory: Path, *, max_bytes: int, segment_records: int, segment_seconds: float) -> "Spools":
        """The spools under `directory`, sharing `max_bytes`: consent and CSP records are few and small."""
        def spool(table: str, cap: int) -> Spool:
            return Spool(directory / table, max_bytes=cap, segment_records=segment_records,
                         segment_seconds=segment_seconds)

        small = max_bytes // 16
        return cls(events=spool("events", max_bytes - 2 * small), consent=spool("consent", small),
                   tracker_findings=spool("tracker_findings", small))

    @classmethod
    def configured(cls, directory: Path, settings: CollectorSettings) -> "Spools":
        """The spools as the collector's settings size them."""
        return cls.open(directory, max_bytes=settings.spool_max_mb * 2**20, segment_records=settings.batch_max_events,
                        segment_seconds=settings.batch_max_seconds)

    def tables(self) -> dict[str, Spool]:
        return self._asdict()

    @asynccontextmanager
    async def running(self) -> AsyncIterator["Spools"]:
        async with AsyncExitStack() as stack:
            for spool in self:
                await stack.enter_async_context(spool.running())
            yield self


def _sync_directory(directory: Path) -> None:
    """Make a file's creation or renaming durable, not only its contents."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def complete_lines(segment: Path) -> bytes:
    """A closed segment's rows; a torn last line was never acknowledged and is left out."""
    data = segment.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        log.warning("left out a torn last line", extra={"segment": segment.name})
    return data[:end]


def read_segment(segment: Path, row_type: type[Row]) -> list[Row]:
    """The rows of a closed segment, decoded: for inspecting what the spool holds."""
    return list(msgspec.json.decode(b"[" + complete_lines(segment).rstrip(b"\n").replace(b"\n", b",") + b"]",
                                    type=list[row_type]))
