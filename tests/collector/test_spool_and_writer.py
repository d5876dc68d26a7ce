"""The spool keeps what was acknowledged; the writer puts it in the warehouse exactly once."""

import asyncio
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import pytest

from collector.enrich import Consent, Visit, enrich
from collector.spool import Spools, read_segment
from collector.wire import WireEvent
from collector.writer import Writer
from tests.conftest import AUDIT_KEY
from warehouse import open_warehouse
from warehouse.events import EventRow

NOW = datetime.now(UTC)


def _rows(count: int, site: str = "default"):
    visit = Visit(received_at=NOW, client_ip="192.0.2.1", user_agent="", visitor_id=uuid.uuid4(),
                  session_id=uuid.uuid4(), consent=Consent(True, False))
    return [enrich(WireEvent(site=site, name="pageview", url=f"https://h.org/{i}", id=str(i)), visit)
            for i in range(count)]


def _spooled(make_spool, batches: list[int], **kwargs):
    async def run():
        spool = make_spool(**kwargs)
        async with spool.running():
            await asyncio.gather(*(spool.append(_rows(n)) for n in batches))
        return spool

    return asyncio.run(run())


def _spools(spool) -> Spools:
    """A spool standing in for the events table, and empty ones for the other tables."""
    def empty(table: str):
        return type(spool)(spool.directory.parent / table, max_bytes=2**20, segment_records=10, segment_seconds=1)

    return Spools(events=spool, consent=empty("consent"), tracker_findings=empty("tracker_findings"))


def test_concurrent_appends_are_all_on_disk_when_acknowledged(make_spool):
    spool = _spooled(make_spool, [3] * 40)
    records = [r for segment in spool.segments() for r in read_segment(segment, EventRow)]
    assert len(records) == 120


def test_segments_close_after_the_configured_number_of_records(make_spool):
    async def run():
        spool = make_spool(segment_records=10, segment_seconds=60)
        async with spool.running():
            for _ in range(10):
                await spool.append(_rows(5))
        return spool

    assert [len(read_segment(s, EventRow)) for s in asyncio.run(run()).segments()] == [10] * 5


def test_a_segment_left_open_by_a_crash_is_closed_on_start_and_its_torn_line_skipped(make_spool, spool_dir):
    spool_dir.mkdir(parents=True)
    good = _spooled(make_spool, [2]).segments()[0]
    died = subprocess.Popen([sys.executable, "-c", "pass"])
    died.wait()
    crashed = spool_dir / f"00000000000000000001-{died.pid}.open"
    crashed.write_bytes(good.read_bytes() + b'{"event_id":"6a1')
    good.unlink()
    spool = make_spool()
    (segment,) = spool.segments()
    assert segment.suffix == ".seg" and len(read_segment(segment, EventRow)) == 2


def _visit_totals(warehouse) -> tuple[int, int]:
    """Visits and their page views, as the reports count them."""
    return warehouse.client.query(
        "SELECT count(), sum(views) FROM (SELECT sum(pageviews) AS views FROM visits GROUP BY session_id)").result_rows[0]


def test_the_writer_loads_segments_and_forgets_them(make_spool, warehouse):
    spool = _spooled(make_spool, [4, 6])
    assert asyncio.run(Writer(_spools(spool), warehouse).load_ready())
    assert warehouse.client.command("SELECT count() FROM events") == 10
    assert _visit_totals(warehouse) == (2, 10)
    assert spool.segments() == [] and spool.bytes == 0


def test_replaying_a_segment_after_a_crash_stores_nothing_twice(make_spool, warehouse, spool_dir):
    spool = _spooled(make_spool, [7])
    (segment,) = spool.segments()
    kept = segment.read_bytes()
    asyncio.run(Writer(_spools(spool), warehouse).load_ready())
    # The crash came after the insert and before the segment was forgotten.
    segment.write_bytes(kept)
    assert asyncio.run(Writer(_spools(make_spool()), warehouse).load_ready())
    assert warehouse.client.command("SELECT count() FROM events") == 7
    assert _visit_totals(warehouse) == (1, 7)


def test_a_warehouse_outage_keeps_segments_until_it_returns(make_spool, warehouse_settings, warehouse):
    spool = _spooled(make_spool, [3])
    away = open_warehouse(warehouse_settings, audit_key=AUDIT_KEY)
    away.close()
    assert not asyncio.run(Writer(_spools(spool), away).load_ready())
    assert len(spool.segments()) == 1
    assert asyncio.run(Writer(_spools(spool), warehouse).load_ready())
    assert warehouse.client.command("SELECT count() FROM events") == 3


def test_an_unreadable_segment_is_set_aside_not_dropped(make_spool, warehouse, spool_dir):
    spool = make_spool()
    (spool_dir / "00000000000000000002-1.seg").write_bytes(b"garbage\n")
    assert asyncio.run(Writer(_spools(spool), warehouse).load_ready())
    assert (spool_dir / "quarantine" / "00000000000000000002-1.seg").exists()


HOLD_OPEN = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)
"""


def test_a_segment_another_live_process_writes_is_left_alone(make_spool, spool_dir):
    spool_dir.mkdir(parents=True)
    segment = spool_dir / "00000000000000000003-4242.open"
    writer = subprocess.Popen([sys.executable, "-c", HOLD_OPEN, str(segment)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "locked"
        assert make_spool().segments() == []
    finally:
        writer.kill()
        writer.wait()
    assert [s.name for s in make_spool().segments()] == ["00000000000000000003-4242.seg"]


def test_segments_close_on_time_under_steady_traffic(make_spool):
    async def run():
        spool = make_spool(segment_records=10_000, segment_seconds=0.3)
        async with spool.running():
            for _ in range(15):  # an append every 0.1 s: the queue is never idle for long
                await spool.append(_rows(1))
                await asyncio.sleep(0.1)
            return len(spool.segments())

    assert asyncio.run(run()) >= 3


def test_a_failed_write_leaves_no_torn_line_before_later_events(make_spool, monkeypatch):
    import os as os_module

    real_fsync, calls = os_module.fsync, []

    def flaky_fsync(fd):
        calls.append(fd)
        if len(calls) == 1:  # the second batch's fsync
            raise OSError(5, "Input/output error")
        return real_fsync(fd)

    async def run():
        spool = make_spool(segment_seconds=60)
        async with spool.running():
            await spool.append(_rows(2))
            monkeypatch.setattr("collector.spool.os.fsync", flaky_fsync)
            with pytest.raises(OSError):
                await spool.append(_rows(3))
            await spool.append(_rows(4))
        return spool

    spool = asyncio.run(run())
    rows = [r for segment in spool.segments() for r in read_segment(segment, EventRow)]
    assert len(rows) in (6, 9)  # the failed batch may or may not have reached the disk, never torn
    assert all(row.name == "pageview" for row in rows)


def test_two_collectors_never_name_a_segment_alike_even_with_one_clock_and_process_id(tmp_path, monkeypatch):
    from collector.spool import Spool

    monkeypatch.setattr("collector.spool.time.time_ns", lambda: 3)
    monkeypatch.setattr("collector.spool.os.getpid", lambda: 1)

    async def one_segment(directory):
        spool = Spool(directory, max_bytes=2**20, segment_records=10, segment_seconds=60)
        async with spool.running():
            await spool.append(_rows(1))
        return [segment.name for segment in spool.segments()]

    names = [name for host in ("a", "b") for name in asyncio.run(one_segment(tmp_path / host))]
    assert len(names) == len(set(names)) == 2  # the names are the warehouse's deduplication tokens
