"""The overview a marketer reads at a glance: readable durations, one chart with a metric picker and named
axes, and annotations on it that the team adds and removes."""

import json
import re
import uuid
from datetime import date, timedelta

import pytest

from streamlit.testing.v1 import AppTest

from dashboard.client import Api
from dashboard.pages import duration
from tests.conftest import PASSWORD
from tests.dashboard.test_app import APP


def _chart(app) -> dict:
    return json.loads(app.get("plotly_chart")[0].proto.spec)


@pytest.fixture(scope="module")
def tokens(api_url):
    """One login per role for the whole module: logins from one address are rate-limited."""
    return {role: Api(api_url).log_in(role, PASSWORD)["token"] for role in ("marketer", "compliance")}


@pytest.fixture
def overview(api_url, tokens):
    def signed_in(role: str) -> AppTest:
        app = AppTest.from_file(APP, default_timeout=30)
        for key, value in {"api": Api(api_url, tokens[role]), "role": role, "username": role}.items():
            app.session_state[key] = value
        return _checked(app.run())
    return signed_in


def _checked(app: AppTest) -> AppTest:
    assert not app.exception and not app.error, app.exception or [e.value for e in app.error]
    assert app.title[0].value == "Overview"
    return app


def _annotate(app, day: date, text: str):
    next(d for d in app.date_input if d.label == "Day").set_value(day)
    next(t for t in app.text_input if t.label == "Note").input(text)
    return next(b for b in app.button if b.label == "Annotate").click().run()


@pytest.mark.parametrize(("seconds", "reads"), [(0, "0s"), (38.4, "38s"), (264, "4m 24s"), (3725, "1h 02m")])
def test_durations_read_as_people_say_them(seconds, reads):
    assert duration(seconds) == reads


def test_session_length_and_its_change_read_in_minutes_and_seconds(overview):
    length = next(m for m in overview("marketer").metric if m.label == "Session length")
    assert re.fullmatch(r"(\d+m \d{2}s|\d+s)", length.value)
    assert re.fullmatch(r"[+-](\d+m \d{2}s|\d+s)", length.delta)


def test_the_chart_shows_the_chosen_metric_per_day_with_named_axes(overview):
    app = overview("marketer")
    app.radio(key="overview-metric").set_value("Page views").run()
    layout, trace = _chart(app)["layout"], _chart(app)["data"][0]
    assert layout["xaxis"]["title"]["text"] == "Day" and layout["yaxis"]["title"]["text"] == "Page views"
    assert trace["name"] == "Page views" and len(trace["x"]) == 30 and sum(trace["y"]) > 0


def test_a_marketer_annotates_a_day_sees_it_on_the_chart_and_removes_it(overview):
    text = f"Knee campaign launched {uuid.uuid4().hex[:6]}"
    app = _annotate(overview("marketer"), date.today() - timedelta(days=2), text)
    assert not app.exception and not app.error, [e.value for e in app.error]
    marks = next(t for t in _chart(app)["data"] if t["name"] == "Annotations")
    assert f"{text} (marketer)" in marks["hovertext"]
    assert any(text in t.value for t in app.text)
    added = next(a for a in app.session_state["api"].get("/api/annotations") if a["text"] == text)
    app = app.button(key=f"remove-{added['annotation_id']}").click().run()
    assert not any(text in t.value for t in app.text)


def test_an_annotation_the_api_refuses_says_why_on_the_page(overview):
    app = _annotate(overview("marketer"), date.today(), "Call jane.doe@example.org")
    assert any("keep people and records out" in e.value for e in app.error)


def test_compliance_reads_annotations_but_is_not_offered_the_form(overview):
    app = overview("compliance")
    assert not [b for b in app.button if b.label == "Annotate"]
    assert any("Marketers, analysts and admins annotate" in c.value for c in app.caption)
