"""Reports benchmark: demo traffic in an embedded warehouse, each report called through the API.

    .venv/bin/python bench/reports.py [--events 10000000] [--days 90] [--repeat 20]

For each report on the default 30-day range it prints p50/p95 through the internal API (HTTP
handling, validation, audit entry included) next to the same query run directly on the events
table in the same run, and their ratio.
"""

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher, profiles
from litestar.testing import TestClient
from tqdm import tqdm

from collector import demo, internal_app
from warehouse import WarehouseSettings, embedded_dsn, open_warehouse
from collector.reports import REPORTS
from warehouse.reports import ReportQuery

PASSWORD = "violet-Harbor-93-kite"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(tmp), args.events, args.days, args.repeat)


def run(tmp: Path, events: int, days: int, repeat: int) -> None:
    warehouse = open_warehouse(WarehouseSettings(dsn=embedded_dsn(tmp)), migrate_as="bench")
    started = time.perf_counter()
    with tqdm(total=events, unit=" events", unit_scale=True, desc="seeding") as bar:
        for chunk, offset in enumerate(range(0, events, 1_000_000)):
            bar.update(demo.load(warehouse, min(1_000_000, events - offset), days, "main", seed=chunk))
    seeded = time.perf_counter() - started
    app = internal_app(warehouse, "ops", ["main"], PasswordHasher.from_parameters(profiles.CHEAPEST))
    today = datetime.now(UTC).date()
    query = ReportQuery(site="main", start=today - timedelta(days=29), end=today)
    with TestClient(app) as client:
        client.post("/api/ops/users", json={"username": "bench", "role": "marketer", "password": PASSWORD},
                    headers={"authorization": "Bearer ops"}).raise_for_status()
        token = client.post("/api/session", json={"username": "bench", "password": PASSWORD}).json()["token"]
        client.headers["authorization"] = f"Bearer {token}"
        print(f"{events:,} events over {days} days seeded in {seeded:.0f} s; reports on the last 30 days, "
              f"{repeat} calls each (after one warm-up)")
        print(f"{'report':14} {'api p50':>8} {'api p95':>8} {'sql p50':>8} {'sql p95':>8} {'ratio':>6}   ms")
        worst = 0.0
        for name, direct in REPORTS.items():
            api = _times(lambda: client.get(f"/api/reports/{name}", params={"site": "main"}).raise_for_status(),
                         repeat)
            sql = _times(lambda: direct(warehouse.client, query), repeat)
            worst = max(worst, api[1])
            print(f"{name:14} {api[0]:8.1f} {api[1]:8.1f} {sql[0]:8.1f} {sql[1]:8.1f} {api[0] / sql[0]:6.2f}")
        print(f"worst api p95: {worst:.1f} ms (target < 100 ms)")
    warehouse.close()


def _times(call, repeat: int) -> tuple[float, float]:
    call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), statistics.quantiles(samples, n=20)[18]


if __name__ == "__main__":
    main()
