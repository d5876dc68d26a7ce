"""The overview a marketer reads at a glance: readable durations, one chart with a metric picker and named
axes, and annotations on it that the team adds and removes."""

import json
import random
import re
import string
from datetime import date, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.pages import duration


def _chart(app) -> dict:
    return json.loads(app.get("plotly_chart")[0].proto.spec)


def _overview(dashboard, role: str) -> AppTest:
    app = dashboard(role)
    assert app.title[0].value == "Overview"
    return app


def _annotate(app, day: date, text: str):
    next(d for d in app.date_input if d.label == "Day").set_value(day)
    next(t for t in app.text_input if t.label == "Note").input(text)
    return next(b for b in app.button if b.label == "Annotate").click().run()


@pytest.mark.parametrize(("seconds", "reads"), [(0, "0s"), (38.4, "38s"), (264, "4m 24s"), (3725, "1h 02m")])
def test_durations_read_as_people_say_them(seconds, reads):
    assert duration(seconds) == reads


def test_session_length_and_its_change_read_in_minutes_and_seconds(dashboard):
    length = next(m for m in _overview(dashboard, "marketer").metric if m.label == "Session length")
    assert re.fullmatch(r"(\d+m \d{2}s|\d+s)", length.value)
    assert re.fullmatch(r"[+-](\d+m \d{2}s|\d+s)|0s", length.delta)


def test_no_change_reads_as_none_rather_than_a_fall(dashboard):
    quiet = dashboard("marketer", **{"from": "2001-01-01", "to": "2001-01-07", "compare": "1"})  # no traffic, then or before
    assert {m.label: m.delta for m in quiet.metric} == {
        "Visitors": "0", "Sessions": "0", "Page views": "0", "Bounce rate": "0.0 pts", "Session length": "0s",
        "Conversions": "0", "Conversion rate": "0.0 pts"}


def test_a_rates_change_reads_in_percentage_points(dashboard):
    bounce = next(m for m in _overview(dashboard, "marketer").metric if m.label == "Bounce rate")
    assert re.fullmatch(r"\d+\.\d%", bounce.value) and re.fullmatch(r"[+-]\d+\.\d pts", bounce.delta)


def test_the_chart_shows_the_chosen_metric_per_day_with_named_axes(dashboard):
    app = _overview(dashboard, "marketer")
    app.radio(key="overview-metric").set_value("Page views").run()
    layout, (closed, today) = _chart(app)["layout"], _chart(app)["data"][:2]
    assert layout["xaxis"]["title"]["text"] == "Day" and layout["yaxis"]["title"]["text"] == "Page views"
    assert layout["yaxis"]["rangemode"] == "tozero"
    assert closed["name"] == "Page views" and len(closed["x"]) == 29 and sum(closed["y"]) > 0
    # Today, not over yet, is drawn on its own, dotted, from the last closed day.
    assert today["name"] == "Today so far" and today["line"]["dash"] == "dot" and today["x"][0] == closed["x"][-1]


def test_a_marketer_annotates_a_day_sees_it_on_the_chart_and_removes_it(dashboard):
    # Letters only: a random hex run of digits would read as a record number, which annotations refuse.
    text = f"Knee campaign launched {''.join(random.choices(string.ascii_lowercase, k=6))}"
    app = _annotate(_overview(dashboard, "marketer"), date.today() - timedelta(days=2), text)
    assert not app.exception and not app.error, [e.value for e in app.error]
    marks = next(t for t in _chart(app)["data"] if t["name"] == "Annotations")
    assert f"marketer: {text}" in marks["hovertext"]
    assert any(text in t.value for t in app.text)
    added = next(a for a in app.session_state["api"].get("/api/annotations") if a["text"] == text)
    app = app.button(key=f"remove-{added['annotation_id']}").click().run()
    assert not any(text in t.value for t in app.text)


def test_an_annotation_the_api_refuses_says_why_on_the_page(dashboard):
    app = _annotate(_overview(dashboard, "marketer"), date.today(), "Call jane.doe@example.org")
    assert any("keep people and records out" in e.value for e in app.error)


def test_compliance_reads_annotations_but_is_not_offered_the_form(dashboard):
    app = _overview(dashboard, "compliance")
    assert not [b for b in app.button if b.label == "Annotate"]
    assert any("Marketers, analysts and admins annotate" in c.value for c in app.caption)

