"""Several instances on one warehouse: their writers interleave batches of the same visits, and the
reports and the audit log come out as with one."""

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import msgspec

from collector.demo import generate
from collector.spool import Spools
from collector.writer import Writer
from tests.conftest import AUDIT_KEY
from warehouse import WarehouseSettings, open_warehouse, reports
from warehouse.reports import ReportQuery

NOW = datetime.now(UTC)
QUERY = ReportQuery(site="main", start=(NOW - timedelta(days=3)).date(), end=NOW.date())
REPORTS = (reports.overview, reports.timeseries, reports.sources, reports.campaigns, reports.pages,
           reports.entry_pages, reports.conversions, reports.devices)


def _answers(warehouse) -> dict:
    return {report.__name__: msgspec.to_builtins(report(warehouse.client, QUERY)) for report in REPORTS}


def _spools(directory) -> Spools:
    return Spools.open(directory, max_bytes=2**30, segment_records=25, segment_seconds=60)


async def _spool_all(spools: Spools, batches: list[list]) -> None:
    async with spools.running():
        for batch in batches:
            await spools.events.append(batch)


def test_two_writers_interleaving_batches_of_the_same_visits_report_as_one(engine_path, tmp_path):
    rows = sorted(generate(3000, days=3, site="main", seed=5, now=NOW), key=lambda row: row.timestamp)
    batches = [rows[i:i + 7] for i in range(0, len(rows), 7)]  # a visit's events end up with both instances
    database = f"shared_{uuid.uuid4().hex[:8]}"
    settings = WarehouseSettings(dsn=f"chdb://{engine_path}?database={database}")
    alone = open_warehouse(WarehouseSettings(dsn=f"chdb://{engine_path}?database=alone_{database}"), migrate_as="t", audit_key=AUDIT_KEY)
    instances = [open_warehouse(settings, migrate_as=name, audit_chain=name, audit_key=AUDIT_KEY) for name in ("serve-a", "serve-b")]
    try:
        one = _spools(tmp_path / "one")
        asyncio.run(_spool_all(one, batches))
        assert asyncio.run(Writer(one, alone).load_ready())
        spools = [_spools(tmp_path / name) for name in ("a", "b")]
        for n, spool in enumerate(spools):
            asyncio.run(_spool_all(spool, batches[n::2]))

        def run(n: int) -> bool:
            for m in range(20):  # each instance audits while it loads
                instances[n].audit.record(f"user:{n}", "report.read", str(m))
            return asyncio.run(Writer(spools[n], instances[n]).load_ready())

        with ThreadPoolExecutor(2) as pool:
            assert all(pool.map(run, range(2)))
        shared = instances[0]
        assert shared.client.command("SELECT count() FROM events") == len(rows)
        assert _answers(shared) == _answers(alone)
        assert _answers(alone)["overview"]["sessions"] > 100
        report = shared.audit.verify()
        assert report.intact and report.checked == 2 + 40  # a migration entry on each chain, and what they read
    finally:
        for warehouse in (alone, instances[0]):
            warehouse.client.command(f"DROP DATABASE `{warehouse.dsn.database}`")
        for warehouse in (alone, *instances):
            warehouse.close()
