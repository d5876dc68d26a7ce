"""A page with the snippet, in a real browser: page views, a history navigation, a conversion."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from collector.settings import Site
from collector.spool import Spool, Spools
from tests.browser.conftest import public_listener, spooled, website_serving
from warehouse.events import EventRow

PAGE = """<!doctype html>
<html><head><title>Cardiology</title>
<script defer src="{collector}/t.js" data-site="main"></script></head>
<body>
<a id="spa" href="#" onclick="history.pushState({{}}, '', '/services/orthopaedics?utm_source=google&gclid=Cj0'); return false">Orthopaedics</a>
<button id="book" onclick="sluice.track('appointment_request', {{service_line: 'cardiology', value: 120}})">Book</button>
</body></html>"""


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[tuple[str, Spool]]:
    """The public app on a real loopback port, as browsers meet it."""
    spools = Spools.open(tmp_path / "spool", max_bytes=2**20, segment_records=1, segment_seconds=0.2)
    sites = [Site(id="main", origins=["*"], consent="opt-out")]  # visitors count until they refuse
    with public_listener(sites, spools) as url:
        yield url, spools.events


@pytest.fixture
def website(collector) -> Iterator[str]:
    """The organisation's own pages, on another origin than the collector."""
    with website_serving({"/services/cardiology": PAGE.format(collector=collector[0]).encode()}) as url:
        yield url


def _records(spool: Spool, count: int) -> list:
    return sorted(spooled(spool, EventRow, count), key=lambda r: r.received_at)


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
