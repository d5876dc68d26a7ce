"""Consent captured where it is given, in a real browser: Sluice's banner, the page's own call, Google Consent
Mode and an IAB TCF platform each end in a choice the collector recorded."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector.settings import Banner, Site
from collector.spool import Spools
from tests.browser.conftest import public_listener, spooled, website_serving
from warehouse.events import ANONYMOUS, ConsentRow, EventRow

SNIPPET = '<script defer src="{collector}/t.js" data-site="main"></script>'
PAGES = {
    "/banner": SNIPPET + '<script defer src="{collector}/consent.js" data-site="main"></script>',
    "/plain": SNIPPET,
    # A site that already runs gtag: its consent platform calls gtag("consent", ...) as the user chooses.
    "/consent-mode": "<script>window.dataLayer = []; function gtag() {{ dataLayer.push(arguments); }}"
                     "gtag('consent', 'default', {{analytics_storage: 'denied', ad_storage: 'denied'}});</script>"
                     + SNIPPET,
    # An IAB TCF v2 platform's API, answering as one does once the user saved their choice.
    "/tcf": "<script>window.__tcfapi = function (command, version, callback) {{"
            "  if (command === 'addEventListener') setTimeout(function () {{ callback({{eventStatus: "
            "  'useractioncomplete', gdprApplies: true, purpose: {{consents: {{1: true, 8: true, 2: false, 7: true}}}}}},"
            "  true); }}, 50);"
            "}};</script>" + SNIPPET,
    # The same platform for a visitor the GDPR does not cover: it reports no purposes, which is no refusal.
    "/tcf-outside-gdpr": "<script>window.__tcfapi = function (command, version, callback) {{"
                         "  if (command === 'addEventListener') setTimeout(function () {{ callback({{eventStatus: "
                         "  'tcloaded', gdprApplies: false, purpose: {{consents: {{}}}}}}, true); }}, 50);"
                         "}};</script>" + SNIPPET,
}
BANNER = Banner(title="Your choices at Example Hospital", text="We keep analytics on our own servers.",
                policy_version="7", policy_url="https://www.example-hospital.org/privacy")


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[tuple[str, Spools]]:
    """The public app on a loopback port, for an opt-in site with its banner text."""
    spools = Spools.open(tmp_path / "spool", max_bytes=2**20, segment_records=1, segment_seconds=0.2)
    with public_listener([Site(id="main", origins=["*"], banner=BANNER)], spools) as url:
        yield url, spools


@pytest.fixture
def website(collector) -> Iterator[str]:
    pages = {path: f"<!doctype html><html><head><title>Clinic</title>{html.format(collector=collector[0])}"
                   "</head><body><h1>Clinic</h1></body></html>".encode() for path, html in PAGES.items()}
    with website_serving(pages) as url:
        yield url


def _choice(spools: Spools) -> tuple[bool, bool, str, str]:
    (row,) = spooled(spools.consent, ConsentRow, 1)
    return row.analytics, row.ads, row.policy_version, row.source


def test_the_banner_records_a_choice_that_binds_and_is_not_asked_again(browser, collector, website):
    collector_url, spools = collector
    page = browser.new_page()
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{website}/banner")
    dialog = page.get_by_role("dialog", name="Your choices at Example Hospital")
    dialog.wait_for()
    assert dialog.get_by_role("link", name="Privacy policy").get_attribute("href") == BANNER.policy_url
    assert not page.get_by_label("Analytics on our own servers").is_checked()  # nothing is ticked for the visitor
    page.get_by_label("Analytics on our own servers").check()
    page.get_by_role("button", name="Save choices").click()
    dialog.wait_for(state="detached")
    assert _choice(spools) == (True, False, "7", "banner")
    page.reload()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("dialog").count() == 0  # a choice under this policy version is on record
    before, after = spooled(spools.events, EventRow, 2)[:2]
    assert before.visitor_id == ANONYMOUS and not before.consent_analytics  # opt-in: nothing linkable before
    assert after.visitor_id != ANONYMOUS and after.consent_analytics and not after.consent_ads
    page.close()
    assert {"/".join(url.split("/")[:3]) for url in requested} == {website, collector_url}


def test_the_banner_works_from_the_keyboard(browser, collector, website):
    page = browser.new_page()
    page.goto(f"{website}/banner")
    page.get_by_role("dialog").wait_for()
    assert page.evaluate("document.activeElement.textContent") == "Accept all"  # focus moves into the banner
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Reject all"
    page.keyboard.press("Enter")
    assert _choice(collector[1]) == (False, False, "7", "banner")
    page.close()


def test_global_privacy_control_preselects_no_for_ads(browser, collector, website):
    page = browser.new_page()
    page.add_init_script("Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})")
    page.goto(f"{website}/banner")
    page.get_by_role("dialog").wait_for()
    assert page.get_by_text("Global Privacy Control").is_visible()
    page.get_by_role("button", name="Accept all").click()
    assert _choice(collector[1]) == (True, False, "7", "banner")
    page.close()


def test_a_consent_mode_update_records_the_choice_it_gives(browser, collector, website):
    page = browser.new_page()
    page.goto(f"{website}/consent-mode")
    page.wait_for_function("window.sluice !== undefined")
    page.evaluate("gtag('consent', 'update', {analytics_storage: 'granted', ad_storage: 'granted', "
                  "ad_user_data: 'granted', ad_personalization: 'denied'})")
    assert _choice(collector[1]) == (True, True, "7", "consent-mode")  # the default alone recorded nothing
    page.close()


def test_a_tcf_signal_records_the_purposes_it_grants_once(browser, collector, website):
    page = browser.new_page()
    page.goto(f"{website}/tcf")
    # Purposes 1 and 8 allow analytics; ads need 1, 2 and 7, and purpose 2 was refused.
    assert _choice(collector[1]) == (True, False, "7", "tcf")  # under the site's current policy version
    page.goto(f"{website}/tcf")  # the platform says it again on the next page: nothing new is recorded
    page.wait_for_load_state("networkidle")
    spooled(collector[1].events, EventRow, 2)
    time.sleep(0.5)  # what the second page posted has reached the spool
    assert _choice(collector[1]) == (True, False, "7", "tcf")
    page.close()


def test_a_tcf_platform_outside_the_gdpr_records_no_refusal(browser, collector, website):
    page = browser.new_page()
    page.goto(f"{website}/tcf-outside-gdpr")
    page.wait_for_load_state("networkidle")
    spooled(collector[1].events, EventRow, 1)
    time.sleep(0.5)
    assert not list(collector[1].consent.segments())
    page.close()


def test_a_page_can_record_a_choice_it_collected_itself(browser, collector, website):
    page = browser.new_page()
    page.goto(f"{website}/plain")
    page.wait_for_function("window.sluice !== undefined")
    answer = page.evaluate("sluice.consent({analytics: true, ads: true, policy_version: '3'})")
    assert answer["source"] == "recorded" and answer["ads"] is True
    assert _choice(collector[1]) == (True, True, "3", "api")
    page.close()


def _contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two CSS rgb() colours."""
    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in colour[colour.index("(") + 1:colour.index(")")].split(",")[:3]]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_banners_text_and_buttons_have_at_least_aa_contrast(browser, collector, website):
    page = browser.new_page()
    page.goto(f"{website}/banner")
    page.get_by_role("dialog").wait_for()
    colours = page.evaluate("""() => [...document.querySelectorAll('#sluice-consent, #sluice-consent button')]
        .map(node => [getComputedStyle(node).color, getComputedStyle(node).backgroundColor])""")
    assert len(colours) == 4 and all(_contrast(fg, bg) >= 4.5 for fg, bg in colours), colours
    page.close()


def test_a_choice_the_collector_refuses_leaves_the_banner_open_and_says_so(browser, collector, website):
    page = browser.new_page()
    # The collector is at its spool's disk cap: it answers 503 to the choice.
    page.route("**/consent", lambda route: route.fulfill(status=503, body="{}") if route.request.method == "POST"
               else route.continue_())
    page.goto(f"{website}/banner")
    page.get_by_role("button", name="Reject all").click()
    page.get_by_role("status").filter(has_text="could not be saved").wait_for()
    assert page.get_by_role("dialog").is_visible()
    page.unroute("**/consent")
    page.get_by_role("button", name="Reject all").click()  # the same choice again, once the collector is back
    page.get_by_role("dialog").wait_for(state="detached")
    assert _choice(collector[1]) == (False, False, "7", "banner")
    page.close()
