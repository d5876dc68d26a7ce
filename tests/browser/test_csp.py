"""A real Chromium on a page with a report-only CSP: its reports reach /csp-report and become findings."""

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import uvicorn

from collector import public_app
from collector.settings import CollectorSettings, Site
from collector.spool import Spools
from collector.writer import Writer
from scanner.report import tracker_hosts
from scanner.settings import ScannerSettings
from tests.conftest import unused_port
from tests.scanner.conftest import Site as FixtureSite
from warehouse.trackers import Trackers
from tests.conftest import CONSENT_KEY


def test_violations_reported_by_the_browser_are_filed_as_findings(browser, tmp_path, warehouse):
    site = FixtureSite()
    spools = Spools.open(tmp_path / "spool", max_bytes=2**24, segment_records=1, segment_seconds=0.05)
    app = public_app(CollectorSettings(), [Site(id="main", origins=[site.url])], spools, CONSENT_KEY)
    port = unused_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        site.csp = f"default-src 'self'; script-src 'self' 'unsafe-inline'; report-uri http://127.0.0.1:{port}/csp-report"
        page = browser.new_page()
        page.route("**/*", lambda route: route.continue_() if "127.0.0.1" in route.request.url else route.abort())
        page.goto(site.url + "/")
        deadline = time.monotonic() + 15
        while not any(spools.tracker_findings.segments()) and time.monotonic() < deadline:
            spools.tracker_findings.recover()
            page.wait_for_timeout(200)  # not time.sleep: the route handler above runs only while Playwright waits
        page.close()
    finally:
        server.should_exit = True
        thread.join(10)
        site.close()
    # Playwright's sync API holds this thread's event loop: the writer runs on another.
    with ThreadPoolExecutor(1) as other:
        other.submit(asyncio.run, Writer(spools, warehouse).load_ready()).result()
    hosts = {h.host: h for h in tracker_hosts(Trackers(warehouse.client), ScannerSettings())}
    assert "connect.facebook.net" in hosts, "no CSP report reached /csp-report"
    reported = hosts["connect.facebook.net"]
    assert (reported.vendor, reported.sources, reported.kinds) == ("Meta Pixel", ["csp"], ["csp"])
    assert reported.pages == [site.url + "/"]
