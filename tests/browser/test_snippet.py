"""A page with the snippet, in a real browser: page views, a history navigation, a conversion."""

import time
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


EXTENDED = """<!doctype html>
<html><head><title>Orthopaedics</title>
<script defer src="{collector}/t.js" data-site="main" {switches}></script></head>
<body style="height: 4000px">
<a id="out" href="https://partner.example/knee?ref=patient-42">Partner clinic</a>
<a id="file" href="/files/intake-form.pdf?patient=12345">Intake form (PDF)</a>
<a id="next" href="#" onclick="history.pushState({{}}, '', '/services/knee'); return false">Knee</a>
<form id="appointment" onsubmit="return false"><input name="name" value="Jane Doe"><input name="id" value="MRN 889"
><button id="send">Send</button></form>
</body></html>"""
EVERY_EXTENSION = "data-engaged-time data-scroll-depth data-outbound-links data-file-downloads data-404 data-forms"


@pytest.fixture
def extended_site(collector) -> Iterator[str]:
    """Pages whose snippet tag switches on every extension, and a 404 page with the same tag; one page without."""
    page = EXTENDED.format(collector=collector[0], switches=EVERY_EXTENSION).encode()
    plain = EXTENDED.format(collector=collector[0], switches="").encode()
    with website_serving({"/services/orthopaedics": page, "/plain": plain, "/elsewhere": b"<p>elsewhere</p>"},
                         not_found=page) as url:
        yield url


@pytest.fixture
def tab(browser, extended_site) -> Iterator:
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    page.route("https://partner.example/**", lambda route: route.fulfill(body="partner"))
    page.route("**/files/**", lambda route: route.fulfill(body="a form", content_type="text/plain"))
    yield page
    page.close()


def _named(spool: Spool, *names: str) -> dict[str, list[EventRow]]:
    """The spooled events by name, once one of each of `names` came (waiting up to ten seconds)."""
    deadline = time.monotonic() + 10
    while True:
        named: dict[str, list[EventRow]] = {}
        for record in _records(spool, 0):
            named.setdefault(record.name, []).append(record)
        if set(names) <= set(named) or time.monotonic() > deadline:
            return named
        time.sleep(0.1)


def test_engaged_time_and_scroll_depth_are_reported_per_page_view_when_it_is_left(tab, collector, extended_site):
    tab.goto(f"{extended_site}/services/orthopaedics")
    tab.wait_for_timeout(700)
    tab.mouse.wheel(0, 5000)
    tab.wait_for_timeout(300)
    tab.click("#next")  # a page of a single-page app: the first view is over
    tab.wait_for_timeout(400)
    tab.goto(f"{extended_site}/elsewhere")
    _named(collector[1], "engagement")
    time.sleep(0.5)
    named = _named(collector[1])

    first, second = sorted(named["engagement"], key=lambda r: r.timestamp)
    assert [view.path for view in named["pageview"]] == ["/services/orthopaedics", "/services/knee"]
    assert (first.path, second.path) == ("/services/orthopaedics", "/services/knee")
    assert 900 <= int(first.props["engaged_ms"]) < 30_000
    assert first.props["scroll"] == "100"  # scrolled to the end
    assert 300 <= int(second.props["engaged_ms"]) < 30_000
    assert 0 < int(second.props["scroll"]) < 100  # the link was clicked at the top, and no scroll followed


def test_outbound_links_and_downloads_send_a_host_or_a_path_never_a_query(tab, collector, extended_site):
    tab.goto(f"{extended_site}/services/orthopaedics")
    tab.click("#file")
    tab.go_back()
    tab.click("#out", button="right")  # a context menu opens: no one left
    tab.keyboard.press("Escape")
    tab.click("#out")
    _named(collector[1], "file-download", "outbound-link")
    time.sleep(0.5)  # for a second outbound event, were the right-click one
    named = _named(collector[1])

    assert [r.props for r in named["file-download"]] == [{"file": "/files/intake-form.pdf"}]
    assert [r.props for r in named["outbound-link"]] == [{"host": "partner.example"}]
    assert named["outbound-link"][0].path == "/services/orthopaedics"  # the page the visitor left from
    assert not any("patient" in str(r.props) for rows in named.values() for r in rows)


def test_a_form_submission_names_the_form_and_no_field(tab, collector, extended_site):
    tab.goto(f"{extended_site}/services/orthopaedics")
    tab.click("#send")
    named = _named(collector[1], "form-submit")

    assert [r.props for r in named["form-submit"]] == [{"form": "appointment"}]
    stored = repr(named)
    assert "Jane" not in stored and "889" not in stored


def test_a_page_the_server_answered_404_is_reported_as_not_found(tab, collector, extended_site):
    tab.goto(f"{extended_site}/services/cardiologyy")
    named = _named(collector[1], "404", "pageview")
    assert [r.path for r in named["404"]] == ["/services/cardiologyy"]
    assert [r.path for r in named["pageview"]] == ["/services/cardiologyy"]


def test_without_their_switches_the_extensions_send_nothing(tab, collector, extended_site):
    tab.goto(f"{extended_site}/plain")
    tab.mouse.wheel(0, 5000)
    tab.click("#send")
    tab.click("#file")
    tab.go_back()
    tab.click("#out")
    tab.go_back()
    tab.goto(f"{extended_site}/elsewhere")
    tab.wait_for_timeout(1000)
    assert sorted(_named(collector[1])) == ["pageview"]
