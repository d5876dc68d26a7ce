"""Click to filter: a report's row filters every page, shows as a removable chip, and lives in the URL so a
view can be bookmarked and shared."""

import uuid
from datetime import date, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.view import markdown_text


def _chips(app: AppTest) -> list[str]:
    return [b.label for b in app.sidebar.button if b.key and b.key.startswith("chip-")]


def _first_pick(app: AppTest, title: str):
    """The first button of a top list (keyed by its value, so that a click stays with the value it was on)."""
    return next(b for b in app.button if b.key and b.key.startswith(f"pick-{title}-"))


def _visitors(app: AppTest) -> int:
    return int(next(m for m in app.metric if m.label == "Visitors").value.replace(",", ""))


def test_clicking_a_source_filters_every_page_and_shows_a_chip(dashboard):
    app = dashboard("analyst", "app_pages/acquisition.py")
    first = _first_pick(app, "Top sources")
    source = first.label.rsplit(" · ", 1)[0]
    app = first.click().run()
    assert _chips(app) == [f"✕ Source: {source}"]
    assert f"source:{source.replace(chr(92), '')}" in app.query_params["filter"]
    app.switch_page("app_pages/content.py").run()  # another page keeps the filter
    assert _chips(app) == [f"✕ Source: {source}"]


def test_a_filter_narrows_the_figures_and_its_chip_removes_it(dashboard):
    app = dashboard("analyst")
    everyone = _visitors(app)
    app = _first_pick(app, "Top sources").click().run()
    assert 0 < _visitors(app) < everyone
    app = app.sidebar.button(key="chip-source").click().run()
    assert _chips(app) == [] and _visitors(app) == everyone
    assert "filter" not in app.query_params


def test_a_shared_link_opens_the_same_view(dashboard):
    start, end = date.today() - timedelta(days=6), date.today()
    app = dashboard("analyst", **{"from": str(start), "to": str(end), "filter": ["device_type:mobile"], "compare": "1"})
    assert _chips(app) == ["✕ Device: mobile"]
    assert app.sidebar.date_input[0].value == (start, end)
    week = dashboard("analyst", **{"from": str(start), "to": str(end), "compare": "1"})
    assert 0 < _visitors(app) < _visitors(week)


@pytest.mark.parametrize(("start", "end"), [
    ("yesterday", str(date.today())), (str(date.today()), str(date.today() + timedelta(days=1))),
    (str(date.today()), str(date.today() - timedelta(days=1))), ("1999-12-31", str(date.today())),
    (str(date.today() - timedelta(days=400)), str(date.today())),
])
def test_a_link_with_a_period_the_sidebar_cannot_show_opens_the_default_view(dashboard, start, end):
    app = dashboard("analyst", **{"from": start, "to": end, "filter": ["device_type:mobile"]})
    assert _chips(app) == []
    assert app.sidebar.date_input[0].value == (date.today() - timedelta(days=29), date.today())


def test_a_link_keeps_its_period_and_drops_a_filter_no_click_could_make(dashboard):
    start = date.today() - timedelta(days=6)
    app = dashboard("analyst", **{"from": str(start), "to": str(date.today()),
                                  "filter": ["visitor_id:123", "device_type:mobile"]})
    assert _chips(app) == ["✕ Device: mobile"]
    assert app.sidebar.date_input[0].value == (start, date.today())


def test_labels_show_markup_as_text():
    assert markdown_text("[win](http://evil.example) **now**") == r"\[win\]\(http\://evil\.example\) \*\*now\*\*"


def test_a_masked_page_cannot_be_clicked_to_filter_as_it_matches_no_stored_path():
    def page():
        from dashboard.pages import picks

        picks("Top pages", [{"path": "/patients/*/results", "pageviews": 9}, {"path": "/services", "pageviews": 4}],
              "path", "pageviews", "path")

    app = AppTest.from_function(page).run()
    assert [(b.label, b.disabled) for b in app.button] == [
        (r"/patients/\*/results · 9", True), (r"/services · 4", False)]


def test_a_view_saved_under_a_name_opens_again_with_its_filters_over_the_last_days(dashboard):
    name = f"Mobile, last week {uuid.uuid4().hex[:4]}"
    start = date.today() - timedelta(days=6)
    app = dashboard("analyst", **{"from": str(start), "to": str(date.today()), "filter": ["device_type:mobile"]})
    app = app.sidebar.text_input(key="view-name").input(name).run()
    app = next(b for b in app.sidebar.button if b.label == "Save this view").click().run()
    assert not app.error, [e.value for e in app.error]

    other = dashboard("analyst")  # another visit, the default view
    assert _chips(other) == []
    other = next(b for b in other.sidebar.button if b.label == markdown_text(name)).click().run()
    assert _chips(other) == ["✕ Device: mobile"]
    assert other.sidebar.date_input[0].value == (start, date.today())
    forget = next(b for b in other.sidebar.button if b.help == f"Remove the saved view {name}")
    other = forget.click().run()
    assert not [b for b in other.sidebar.button if b.label == markdown_text(name)]


def test_a_view_name_the_api_refuses_says_why_in_the_sidebar(dashboard):
    app = dashboard("analyst")
    app = app.sidebar.text_input(key="view-name").input("no/slashes").run()
    app = next(b for b in app.sidebar.button if b.label == "Save this view").click().run()
    assert any("a view's name is 1 to 60" in e.value for e in app.sidebar.error)



def test_emailing_a_view_where_no_relay_is_configured_says_so_in_the_sidebar(dashboard):
    app = dashboard("marketer")
    app.sidebar.text_input(key="view-name").input("Weekly mail")
    app = app.sidebar.selectbox(key="view-every").set_value("Every week").run()  # then the address may be typed
    app = app.sidebar.text_input(key="view-to").input("marketing@example-hospital.org").run()
    app = next(b for b in app.sidebar.button if b.label == "Save this view").click().run()
    assert any("no mail relay is configured" in e.value for e in app.sidebar.error)
