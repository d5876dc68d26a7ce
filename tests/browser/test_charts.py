"""Chart labels are plain text: a value from a link (a source, a funnel step) is shown, never run as markup."""

import plotly.express as px

from dashboard.pages import as_labels

HOSTILE = '<a href="https://evil.example/login">Log in again</a><span style="font-size:40px">!</span>'


def _render(browser, rows: list[dict]):
    page = browser.new_page()
    figure = px.bar(rows, x="source", y="sessions")
    page.set_content(figure.to_html(include_plotlyjs=True, full_html=True))  # plotly.js from the package: no network
    page.locator(".xtick text").first.wait_for()
    return page


def test_a_source_with_markup_is_shown_as_its_text_not_as_a_link(browser):
    rows = [{"source": HOSTILE, "sessions": 12}, {"source": "google", "sessions": 30}]
    raw = _render(browser, rows)
    assert raw.locator("svg a").count() == 1  # what plotly does with such a value unescaped: the reason for this
    raw.close()
    page = _render(browser, as_labels(rows, "source"))
    assert page.locator("svg a").count() == 0 and page.locator("svg [style*='font-size:40px']").count() == 0
    assert page.locator(".xtick text").first.text_content() == HOSTILE  # the value, as text
    page.close()
