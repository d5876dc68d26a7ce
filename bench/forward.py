"""Forwarder benchmark: one day of demo traffic, aggregated and turned into every destination's payloads.

    .venv/bin/python bench/forward.py [--events 1000000] [--repeat 5]

Prints, for the day's window, the time to compute its cells (one warehouse query), release them,
load the raw identifiers the guard checks against, and build and guard the requests of every
destination (a dry run: nothing is sent), next to a bare `count()` of the day in the same run.
"""

import argparse
import secrets
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from tqdm import tqdm

from collector import demo
from forwarder.runner import Forwarder
from forwarder.settings import ForwarderSettings
from timing import samples
from warehouse import WarehouseSettings, embedded_dsn, open_warehouse

POLICY = {
    "signals": [{"event": "appointment_request", "name": "Lead"}, {"event": "contact_form", "name": "Contact"},
                {"event": "phone_click", "name": "Call"}],
    "values": {"utm_source": ["google", "facebook", "tiktok", "bing", "newsletter", "linkedin"],
               "utm_campaign": ["knee-replacement", "heart-health", "maternity-tours", "brand", "flu-shots",
                                "cancer-screening", "new-parents", "urgent-care", "monthly-health-tips",
                                "annual-checkup", "careers"]},
    "destinations": [
        {"type": "meta", "id": "meta", "dataset_id": "1234567890", "access_token_env": "T"},
        {"type": "ga4", "id": "ga4", "measurement_id": "G-BENCH123", "api_secret_env": "T"},
        {"type": "tiktok", "id": "tiktok", "event_source_id": "CBENCH1234", "access_token_env": "T"},
        {"type": "webhook", "id": "hook", "url": "https://hooks.example.org/in", "secret_env": "T"},
        {"type": "csv", "id": "mmm"},
    ],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(tmp), args.events, args.repeat)


def run(tmp: Path, events: int, repeat: int) -> None:
    warehouse = open_warehouse(WarehouseSettings(dsn=embedded_dsn(tmp)), migrate_as="bench", audit_key=secrets.token_bytes(32))
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    # The generator spreads visits over whole days ending at `now`: one day, ending at midnight.
    started = time.perf_counter()
    with tqdm(total=events, unit=" events", unit_scale=True, desc="seeding one day") as bar:
        for chunk, offset in enumerate(range(0, events, 200_000)):
            bar.update(demo.load(warehouse, min(200_000, events - offset), 1, "main", seed=chunk,
                                 now=day + timedelta(days=1)))
    seeded = time.perf_counter() - started
    def count_day() -> int:
        return warehouse.client.command(
            "SELECT count() FROM events WHERE timestamp >= {d:DateTime} AND timestamp < {d:DateTime} + INTERVAL 1 DAY",
            parameters={"d": day})

    in_day = count_day()
    forwarder = Forwarder(warehouse, msgspec.convert(POLICY, ForwarderSettings), tmp / "exports",
                          env={"T": "bench-credential"}, clock=lambda: day + timedelta(days=1, hours=3))
    count = _times(count_day, repeat)
    cells = _times(lambda: forwarder.decide(day), repeat)
    dry = _times(lambda: forwarder.run(window=day, dry_run=True), repeat)
    result = forwarder.run(window=day, dry_run=True)
    released = sum(d.released for d in result.decisions[day])
    print(f"{in_day:,} events in the day (seeded in {seeded:.0f} s); {len(result.decisions[day])} cells, "
          f"{released} released; {len(result.requests)} requests for {len(POLICY['destinations'])} destinations; "
          f"{repeat} runs each, median (max) in ms")
    print(f"bare count() of the day:                         {count[0]:8.1f} ({count[1]:.1f})")
    print(f"cells of the day (one query) and release:        {cells[0]:8.1f} ({cells[1]:.1f})")
    print(f"everything: cells, identifiers, payloads, guard: {dry[0]:8.1f} ({dry[1]:.1f})   "
          f"ratio to count(): {dry[0] / count[0]:.1f}   target < 2000 ms")
    warehouse.close()


def _times(call, repeat: int) -> tuple[float, float]:
    """Median and slowest."""
    taken = samples(call, repeat)
    return statistics.median(taken), max(taken)


if __name__ == "__main__":
    main()
