"""Reports benchmark: demo traffic in an embedded warehouse, each report called through the API.

    .venv/bin/python bench/reports.py [--events 10000000] [--days 90] [--repeat 20]

After computing the cells of closed days (as the server's schedule does, timed), for each report
on the default 30-day range it prints p50/p95 through the internal API (HTTP handling, validation,
audit entry included) next to the same report computed on the raw events
table alone (the baseline, no rollups) in the same run, and the ratio of their medians.
"""

import argparse
import secrets
import socket
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn
from argon2 import PasswordHasher, profiles
from litestar.testing import TestClient
from streamlit.testing.v1 import AppTest
from tqdm import tqdm

from api import internal_app
from api.reports import REPORTS
from collector import demo
from dashboard.client import Api
from dashboard.pages import pages_for
from sluice.heap import freeze_startup_objects
from warehouse import WarehouseSettings, embedded_dsn, open_warehouse
from warehouse.events import CONVERSION
from warehouse.reports import refresh_cells
from timing import samples

PASSWORD = "violet-Harbor-93-kite"
USER = f"bench-{secrets.token_hex(4)}"
"""A new account each run, as a kept warehouse (--data) holds the accounts of earlier runs."""
# Each report on the raw events table alone: the baseline the rollups are measured against.
_PERIOD = "site = {site:String} AND toDate(timestamp) BETWEEN {start:Date} AND {end:Date}"
_SESSIONS = f"""
    SELECT session_id, any(visitor_id) AS visitor_id, countIf(name = 'pageview') AS views,
           dateDiff('second', min(timestamp), max(timestamp)) AS seconds, countIf({CONVERSION}) AS converted,
           argMin(if(utm_source != '', utm_source, if(referrer_host != '', referrer_host, '(direct)')), timestamp)
               AS source,
           argMin(utm_campaign, timestamp) AS campaign, argMin(utm_medium, timestamp) AS medium,
           argMinIf(path, timestamp, name = 'pageview') AS entry, any(device_type) AS device_type,
           any(browser) AS browser, any(os) AS os, count() AS events
    FROM events WHERE {_PERIOD} GROUP BY session_id"""
RAW = {
    "overview": f"""SELECT uniqExact(visitor_id), count(), sum(views), avg(views = 1), avg(seconds), sum(converted),
                           avg(converted > 0) FROM ({_SESSIONS})""",
    "timeseries": f"""SELECT toDate(timestamp) AS day, uniqExact(visitor_id), countIf(name = 'pageview'),
                             countIf({CONVERSION}) FROM events WHERE {_PERIOD} GROUP BY day ORDER BY day""",
    "sources": f"""SELECT source, uniqExact(visitor_id) AS visitors, count(), sum(converted) FROM ({_SESSIONS})
                   GROUP BY source ORDER BY visitors DESC LIMIT 100""",
    "campaigns": f"""SELECT campaign, source, medium, count() AS sessions, sum(converted) FROM ({_SESSIONS})
                     WHERE campaign != '' GROUP BY campaign, source, medium ORDER BY sessions DESC LIMIT 100""",
    "pages": f"""SELECT path, count() AS pageviews, uniqExact(visitor_id) FROM events
                 WHERE {_PERIOD} AND name = 'pageview' GROUP BY path ORDER BY pageviews DESC LIMIT 100""",
    "entry-pages": f"""SELECT entry, count() AS sessions FROM ({_SESSIONS}) WHERE entry != ''
                       GROUP BY entry ORDER BY sessions DESC LIMIT 100""",
    "conversions": f"""SELECT e.name, s.campaign, s.source, count() AS conversions, uniqExact(e.visitor_id)
                       FROM events AS e INNER JOIN ({_SESSIONS}) AS s ON e.session_id = s.session_id
                       WHERE e.site = {{site:String}} AND toDate(e.timestamp) BETWEEN {{start:Date}} AND {{end:Date}}
                       AND e.{CONVERSION} GROUP BY e.name, s.campaign, s.source ORDER BY conversions DESC
                       LIMIT 200""",
    "devices": f"""SELECT device_type, browser, os, uniqExact(visitor_id) AS visitors, sum(events) FROM ({_SESSIONS})
                   GROUP BY device_type, browser, os ORDER BY visitors DESC LIMIT 200""",
    "events": f"""SELECT name, count() AS n, uniqExact(visitor_id) FROM events WHERE {_PERIOD} AND name != 'pageview'
                  GROUP BY name ORDER BY n DESC LIMIT 200""",
}
# The goals the benchmark defines, and the reports on them (with the raw baselines of the same figures).
GOALS = [{"name": "Appointment booked", "event": "appointment_request", "value": 150},
         {"name": "Cardiology pages", "page": "/services/card*"}]
_COMPLETED = "name = 'appointment_request' OR (name = 'pageview' AND path LIKE '/services/card%')"
EXTRA = {
    "goals": ({}, f"""SELECT s.source, count(), sum(e.n) FROM ({_SESSIONS}) AS s INNER JOIN (
                          SELECT session_id, count() AS n FROM events WHERE {_PERIOD} AND ({_COMPLETED})
                          GROUP BY session_id) AS e USING session_id GROUP BY s.source"""),
    "goals?by=source": ({"by": "source"}, None),
    "properties": ({"event": "appointment_request"},
                   f"""SELECT key, value, count(), uniqExact(visitor_id) FROM events
                       ARRAY JOIN mapKeys(props) AS key, mapValues(props) AS value
                       WHERE {_PERIOD} AND name = 'appointment_request' GROUP BY key, value"""),
}

# Two ways to fold a visit's rows of states, timed side by side on the overview's figures (SQL only).
_VISIT_DAYS = "site = {site:String} AND toDate(start) BETWEEN {start:Date} AND {end:Date}"
FOLDS = {
    "inner GROUP BY": f"""SELECT uniqCombined(12)(v), count(), sum(p), countIf(p = 1), sum(s), sum(c) FROM (
                             SELECT min(visitor_id) AS v, sum(pageviews) AS p, sum(conversions) AS c,
                                    dateDiff('second', min(started), max(ended)) AS s
                             FROM visits WHERE {_VISIT_DAYS} GROUP BY session_id)""",
    "FINAL": f"""SELECT uniqCombined(12)(visitor_id), count(), sum(pageviews), countIf(pageviews = 1),
                        sum(dateDiff('second', started, ended)), sum(conversions)
                 FROM visits FINAL WHERE {_VISIT_DAYS}""",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--data", type=Path, help="keep the warehouse here and reuse it if already seeded")
    args = parser.parse_args()
    if args.data:
        args.data.mkdir(parents=True, exist_ok=True)
        run(args.data, args.events, args.days, args.repeat)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(tmp), args.events, args.days, args.repeat)


def run(tmp: Path, events: int, days: int, repeat: int) -> None:
    warehouse = open_warehouse(WarehouseSettings(dsn=embedded_dsn(tmp)), migrate_as="bench", audit_key=secrets.token_bytes(32))
    started = time.perf_counter()
    # Traffic up to the end of today: today, which reports fold from its visits, is as full as it gets.
    end = datetime.combine(datetime.now(UTC).date(), datetime.max.time(), UTC)
    stored = warehouse.client.command("SELECT count() FROM events")
    with tqdm(total=events, initial=stored, unit=" events", unit_scale=True, desc="seeding") as bar:
        for chunk, offset in enumerate(range(0, events, 1_000_000)):
            if offset >= stored:  # a kept warehouse (--data) is seeded once
                bar.update(demo.load(warehouse, min(1_000_000, events - offset), days, "main", seed=chunk, now=end))
    seeded = time.perf_counter() - started
    app = internal_app(warehouse, "ops", ["main"], hasher=PasswordHasher.from_parameters(profiles.CHEAPEST))
    freeze_startup_objects()  # as `sluice serve` does before it serves
    today = datetime.now(UTC).date()
    params = {"site": "main", "start": today - timedelta(days=29), "end": today}
    with TestClient(app) as client:
        client.post("/api/ops/users", json={"username": USER, "role": "admin", "password": PASSWORD},
                    headers={"authorization": "Bearer ops"}).raise_for_status()
        token = client.post("/api/session", json={"username": USER, "password": PASSWORD}).json()["token"]
        client.headers["authorization"] = f"Bearer {token}"
        for goal in GOALS:  # a kept warehouse (--data) has them from an earlier run
            answer = client.post("/api/goals", json=goal)
            if "already" not in answer.text:
                answer.raise_for_status()
        settled = _settled(warehouse)
        refreshes = []
        for _ in range(2):  # the first computes every closed day, the second finds nothing new: the scheduled cost
            started = time.perf_counter()
            computed = refresh_cells(warehouse.client, "main")
            refreshes.append((len(computed), time.perf_counter() - started))
        print(f"{events:,} events over {days} days seeded in {seeded:.0f} s; reports on the last 30 days, "
              f"{repeat} calls each (after one warm-up)")
        print(f"background merges (an engine starts with those its TTLs call for) done after {settled:.1f} s")
        print(f"cells of {refreshes[0][0]} closed days computed in {refreshes[0][1]:.1f} s; a refresh with nothing new "
              f"{refreshes[1][1] * 1000:.0f} ms")
        print(f"{'report':14} {'api p50':>8} {'api p95':>8} {'raw p50':>8} {'raw p95':>8} {'ratio':>6}   ms")
        worst = 0.0
        for name in REPORTS:
            api = _times(lambda: client.get(f"/api/reports/{name}", params={"site": "main"}).raise_for_status(),
                         repeat)
            sql = _times(lambda: warehouse.client.query(RAW[name], parameters=params), repeat)
            worst = max(worst, api[1])
            print(f"{name:14} {api[0]:8.1f} {api[1]:8.1f} {sql[0]:8.1f} {sql[1]:8.1f} {api[0] / sql[0]:6.2f}")
        for name, (extra, raw) in EXTRA.items():
            path = name.partition("?")[0]
            api = _times(lambda: client.get(f"/api/reports/{path}", params={"site": "main", **extra}).raise_for_status(),
                         repeat)
            sql = _times(lambda: warehouse.client.query(raw or EXTRA[path][1], parameters=params), repeat)
            worst = max(worst, api[1])
            print(f"{name:14} {api[0]:8.1f} {api[1]:8.1f} {sql[0]:8.1f} {sql[1]:8.1f} {api[0] / sql[0]:6.2f}")
        print(f"worst api p95: {worst:.1f} ms (target < 100 ms)")
        rows = warehouse.client.command("SELECT count() FROM visits")
        print(f"folding visits ({rows:,} rows of states in all), overview figures, SQL only:")
        for name, sql in FOLDS.items():
            p50, p95 = _times(lambda: warehouse.client.query(sql, parameters=params), repeat)
            print(f"  {name:16} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms")
    print("dashboard pages (30 days; each with its real API calls), ms:")
    for title, (p50, p95) in _render_times(app, repeat).items():
        print(f"  {title:26} p50 {p50:6.0f}  p95 {p95:6.0f}  (target p95 < 1000)")
    warehouse.close()


def _settled(warehouse) -> float:
    """Wait (up to 5 minutes) until the engine merges nothing, so that the figures are those of a running install;
    return the wait."""
    started = time.perf_counter()
    while warehouse.client.command("SELECT count() FROM system.merges") and time.perf_counter() - started < 300:
        time.sleep(0.2)
    return time.perf_counter() - started


def _render_times(app, repeat: int) -> dict[str, tuple[float, float]]:
    """Each page an admin sees, its script run (its API calls, figures and charts) against the API on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        page = AppTest.from_file(str(Path(__file__).parents[1] / "dashboard" / "app.py"), default_timeout=60)
        page.session_state["api"] = Api(f"http://127.0.0.1:{port}")
        page.run()
        page.text_input[0].input(USER)
        page.text_input[1].input(PASSWORD)
        page.button[0].click().run()
        assert page.title[0].value == "Overview" and not page.exception, "the dashboard did not log in"
        times = {}
        for _, title, script in pages_for("admin"):
            times[title] = _times(lambda: page.switch_page(script).run(), repeat)
            assert not page.exception, f"{title}: {page.exception}"
        return times
    finally:
        server.should_exit = True
        thread.join(10)


def _times(call, repeat: int) -> tuple[float, float]:
    """Median and 95th percentile."""
    taken = samples(call, repeat)
    return statistics.median(taken), statistics.quantiles(taken, n=20)[18]


if __name__ == "__main__":
    main()
