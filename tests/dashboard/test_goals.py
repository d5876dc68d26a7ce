"""The goals page and the events page: an analyst names a goal and reads its conversions per source; a marketer
reads them and cannot define one; an event's properties read per property."""

from collections.abc import Iterator

import pytest

from dashboard.client import Api


@pytest.fixture
def no_goals(api_url, role_tokens) -> Iterator[Api]:
    """The demo site without goals, and without those a test adds once it is over."""
    admin = Api(api_url, role_tokens["admin"])
    yield admin
    for goal in admin.get("/api/goals"):
        admin.delete(f"/api/goals/{goal['goal_id']}")


def test_an_analyst_adds_a_goal_and_reads_its_conversions_per_source(dashboard, no_goals):
    app = dashboard("analyst", "app_pages/goals.py")
    assert "No goals yet" in app.info[0].value
    app.text_input[0].input("Appointment booked")
    app.radio[0].set_value("an event")
    app.text_input[1].input("appointment_request")
    app.number_input[0].set_value(150.0)
    next(b for b in app.button if b.label == "Add goal").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]

    assert [g["name"] for g in no_goals.get("/api/goals")] == ["Appointment booked"]
    shown = app.dataframe[0].value
    assert set(shown["Goal"]) == {"Appointment booked"} and shown["Source"].nunique() > 3
    assert all(rate.endswith("%") for rate in shown["Conversion rate"])
    assert (shown["Value"] == shown["Completions"] * 150).all()


def test_a_goal_filters_every_page_by_its_event_when_clicked(dashboard, no_goals):
    no_goals.post("/api/goals", {"name": "Calls", "event": "phone_click"})
    app = dashboard("marketer", "app_pages/goals.py")
    pick = next(button for button in app.button if button.label.startswith("Calls"))
    pick.click().run()
    assert "name:phone_click" in app.query_params["filter"]


def test_a_marketer_reads_goals_but_is_not_offered_their_definition(dashboard, no_goals):
    no_goals.post("/api/goals", {"name": "Heart pages", "page": "/services/card*"})
    app = dashboard("marketer", "app_pages/goals.py")
    assert "Heart pages" in set(app.dataframe[0].value["Goal"])
    assert not app.get("form") and "Analysts and admins define goals." in [c.value for c in app.caption]


def test_the_events_page_breaks_an_events_properties_down(dashboard):
    app = dashboard("marketer", "app_pages/properties.py")
    app.selectbox[0].set_value("appointment_request").run()
    assert "service_line" in [header.value for header in app.subheader]
    values = {v for frame in app.dataframe for v in frame.value.get("Value", [])}
    assert {"cardiology", "orthopaedics"} <= values
