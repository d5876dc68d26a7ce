"""A page with the snippet, in a real browser: page views, a history navigation, a conversion."""

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import uvicorn

from collector import public_app
from collector.settings import CollectorSettings, Site
from collector.spool import Spool, Spools, read_segment
from warehouse.events import EventRow
from tests.conftest import unused_port
from tests.conftest import CONSENT_KEY

PAGE = """<!doctype html>
<html><head><title>Cardiology</title>
<script defer src="{collector}/t.js" data-site="main"></script></head>
<body>
<a id="spa" href="#" onclick="history.pushState({{}}, '', '/services/orthopaedics?utm_source=google&gclid=Cj0'); return false">Orthopaedics</a>
<button id="book" onclick="sluice.track('appointment_request', {{service_line: 'cardiology', value: 120}})">Book</button>
</body></html>"""


class _Site(BaseHTTPRequestHandler):
    page = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[tuple[str, Spool]]:
    """The public app on a real loopback port, as browsers meet it."""
    port = unused_port()
    spools = Spools.open(tmp_path / "spool", max_bytes=2**20, segment_records=1, segment_seconds=0.2)
    sites = [Site(id="main", origins=["*"], consent="opt-out")]  # visitors count until they refuse
    app = public_app(CollectorSettings(), sites, spools, CONSENT_KEY)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", spools.events
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def website(collector) -> Iterator[str]:
    """The organisation's own pages, on another origin than the collector."""
    handler = type("Page", (_Site,), {"page": PAGE.format(collector=collector[0]).encode()})
    server = ThreadingHTTPServer(("127.0.0.1", unused_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _records(spool: Spool, count: int) -> list:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        records = [r for segment in spool.segments() for r in read_segment(segment, EventRow)]
        if len(records) >= count:
            return sorted(records, key=lambda r: r.received_at)
        time.sleep(0.1)
    raise AssertionError(f"expected {count} events, got {len(records)}")


def test_the_snippet_reports_views_navigation_and_conversions_to_the_collector_only(browser, collector, website):
    collector_url, spool = collector
    page = browser.new_page()
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{website}/services/cardiology", referer="https://www.google.com/")
    _records(spool, 1)
    page.click("#spa")
    _records(spool, 2)
    page.click("#book")
    first, navigation, conversion = _records(spool, 3)
    page.close()

    assert (first.name, first.path, first.host) == ("pageview", "/services/cardiology", "127.0.0.1")
    assert first.referrer == "https://www.google.com/"
    assert (navigation.name, navigation.path) == ("pageview", "/services/orthopaedics")
    assert (navigation.utm_source, navigation.click_id_type, navigation.click_id) == ("google", "gclid", "Cj0")
    assert navigation.referrer == f"{website}/services/cardiology"
    assert conversion.name == "appointment_request"
    assert conversion.props == {"service_line": "cardiology", "value": "120"}
    assert "Chrome" in first.browser and first.gpc is False
    assert len({first.visitor_id, navigation.visitor_id, conversion.visitor_id}) == 1  # the first-party cookie
    assert len({first.session_id, navigation.session_id, conversion.session_id}) == 1
    origins = {"/".join(url.split("/")[:3]) for url in requested}
    assert origins == {website, collector_url}, f"the page reached other origins: {origins}"
