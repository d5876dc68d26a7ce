"""A real browser logs in to the dashboard, sees the overview chart, logs out and cannot go back."""

import os
import subprocess
from collections.abc import Iterator

import pytest

from sluice import dashboard
from tests.conftest import PASSWORD, unused_port
from tests.sluice.processes import wait_until_up


@pytest.fixture
def dashboard_url(api_url) -> Iterator[str]:
    port = unused_port()
    process = subprocess.Popen(dashboard.command(port, "127.0.0.1"), env=os.environ | {"SLUICE_API_URL": api_url},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/_stcore/health", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_log_in_see_the_overview_chart_log_out_and_stay_out(browser, dashboard_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(dashboard_url)
    page.locator("input[type=text]").first.fill("marketer")
    page.locator("input[type=password]").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
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
