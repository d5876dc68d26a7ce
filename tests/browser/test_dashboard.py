"""A real browser logs in to the dashboard, sees the overview chart, filters by a click, annotates a day, logs
out and cannot go back."""

import os
import random
import string
from collections.abc import Iterator

import pytest

from sluice import dashboard
from tests.browser.conftest import dashboard_serving
from tests.conftest import PASSWORD, unused_port


@pytest.fixture
def dashboard_url(api_url) -> Iterator[str]:
    port = unused_port()
    with dashboard_serving(port, dashboard.command(port, "127.0.0.1"), os.environ | {"SLUICE_API_URL": api_url}) as url:
        yield url


def _logged_in(browser, dashboard_url: str, username: str, height: int = 1400):
    """A new page, logged in to the dashboard as `username`."""
    page = browser.new_page(viewport={"width": 1400, "height": height})
    page.goto(dashboard_url)
    page.locator("input[type=text]").first.fill(username)
    page.locator("input[type=password]").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    return page


def test_log_in_see_the_overview_chart_log_out_and_stay_out(browser, dashboard_url):
    page = _logged_in(browser, dashboard_url, "marketer", 1000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)  # the per-day chart
    assert page.get_by_role("heading", name="Overview").is_visible()
    assert page.get_by_text("Compliance", exact=True).count() == 0  # not this role's page
    cookies = {cookie["name"] for cookie in page.context.cookies()}
    assert cookies <= {"_streamlit_xsrf"}, "the session token must stay on the server"

    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Log in").wait_for(timeout=30_000)
    page.go_back()
    page.goto(f"{dashboard_url}/overview")
    page.get_by_role("button", name="Log in").wait_for(timeout=30_000)
    assert page.locator(".js-plotly-plot").count() == 0
    page.close()


def test_click_a_source_to_filter_then_annotate_a_day(browser, dashboard_url):
    page = _logged_in(browser, dashboard_url, "marketer")
    page.get_by_role("heading", name="Top sources").wait_for(timeout=30_000)

    source = page.locator("[class*='st-key-pick-Top-sources-'] button").first
    name = source.inner_text().rsplit(" · ", 1)[0]
    source.click()
    chip = page.get_by_role("button", name=f"✕ Source: {name}")
    chip.wait_for(timeout=30_000)
    assert "filter=source" in page.url  # the view can be bookmarked and shared

    # Letters only: a random hex run of digits would read as a record number, which annotations refuse.
    text = f"Knee campaign launched {''.join(random.choices(string.ascii_lowercase, k=6))}"
    page.get_by_text("Annotations (").click()
    # The day is today unless changed: typing into the date field's segments differs between Chromium builds.
    page.get_by_label("Note").fill(text)
    page.get_by_label("Note").press("Tab")  # the field hands its value over when it loses focus
    page.get_by_role("button", name="Annotate").click()
    page.get_by_text(f"marketer: {text}").wait_for(timeout=30_000)
    assert chip.is_visible()  # the filter stays while the page changes
    page.close()


def test_an_analyst_adds_a_goal_and_sees_it_counted_and_clickable(browser, dashboard_url):
    page = _logged_in(browser, dashboard_url, "analyst")
    page.get_by_role("heading", name="Overview").wait_for(timeout=30_000)
    page.locator("[data-testid=stSidebarNav]").get_by_role("link", name="Goals", exact=True).click()
    page.get_by_role("heading", name="Goals").first.wait_for(timeout=30_000)

    name = f"Booked {''.join(random.choices(string.ascii_lowercase, k=6))}"  # letters: no record number
    defined = page.locator("details").filter(has_text="Defined goals (")
    defined.wait_for(timeout=30_000)
    if defined.get_attribute("open") is None:  # open already where no goal is defined yet
        page.get_by_text("Defined goals (").click()
    page.get_by_role("textbox", name="Goal name").fill(name)
    page.get_by_role("textbox", name="Event name or page path").fill("appointment_request")
    page.get_by_role("textbox", name="Event name or page path").press("Tab")
    page.get_by_role("button", name="Add goal").click()
    # Its converted visits, as a button: the page shows the goal once (and the run before, faded, for a moment).
    pick = page.get_by_role("button", name=name).filter(visible=True).first
    pick.wait_for(timeout=30_000)
    pick.click()
    page.get_by_role("button", name="✕ Event: appointment_request").wait_for(timeout=30_000)
    assert "filter=name" in page.url
    page.get_by_text("Defined goals (").click()  # and remove it, leaving the shared demo as it was
    page.get_by_role("button", name="Remove").filter(visible=True).last.click()
    page.get_by_text("No goals yet").wait_for(timeout=30_000)
    page.close()
