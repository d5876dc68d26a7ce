"""Goals: analysts and admins name conversions, every role reads their figures, and the figures are those of the
raw events, per goal and per dimension of the visit."""

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher, profiles
from litestar.testing import TestClient

from api import internal_app
from api.accounts import Role
from tests.api.signed_in import SignedIn
from tests.conftest import PASSWORD, demo_database
from warehouse.events import IDENTIFIED

TODAY = datetime.now(UTC).date()
PERIOD = {"site": "main", "from": str(TODAY - timedelta(days=40)), "to": str(TODAY)}


@pytest.fixture(scope="module")
def seeded(engine_path):
    with demo_database(engine_path, 20_000, days=30, site="main", seed=11) as warehouse:
        yield warehouse


@pytest.fixture(scope="module")
def app(seeded):
    app = internal_app(seeded, "ops", ["main", "clinic"], hasher=PasswordHasher.from_parameters(profiles.CHEAPEST))
    with TestClient(app) as client:
        for name, role in [("ana", Role.ANALYST), ("mia", Role.MARKETER), ("cora", Role.COMPLIANCE)]:
            client.post("/api/ops/users", json={"username": name, "role": role, "password": PASSWORD},
                        headers={"authorization": "Bearer ops"}).raise_for_status()
        yield client


@pytest.fixture(scope="module")
def signed_in(app) -> dict[str, SignedIn]:
    """Each user signed in once: logins from one address are throttled."""
    return {name: SignedIn(app, name) for name in ("ana", "mia", "cora")}


@pytest.fixture(scope="module")
def goals(signed_in):
    """Two goals of the demo site, defined by an analyst: one an event with a value, one a page pattern."""
    ana = signed_in["ana"]
    booked = ana.post("/api/goals", json={"name": "Appointment booked", "event": "appointment_request", "value": 150})
    heart = ana.post("/api/goals", json={"name": "Heart pages", "page": "/services/card*"})
    assert (booked.status_code, heart.status_code) == (201, 201), (booked.text, heart.text)
    yield [booked.json(), heart.json()]
    for goal in (booked.json(), heart.json()):
        ana.delete(f"/api/goals/{goal['goal_id']}")


def _raw(seeded, completed: str, per: str = "''") -> dict:
    """Per value of the visit's `per`, from raw events: (visits, visits completing, completions)."""
    rows = seeded.client.query(f"""
        SELECT key, count(), countIf(done > 0), sum(done) FROM (
            SELECT session_id, argMin({per}, (timestamp, toString(event_id))) AS key, countIf({completed}) AS done
            FROM events WHERE site = 'main' AND {IDENTIFIED} GROUP BY session_id) GROUP BY key""").result_rows
    return {key: (visits, converted, done) for key, visits, converted, done in rows if converted}


def test_a_goals_figures_are_those_of_the_raw_events(signed_in, seeded, goals):
    mia = signed_in["mia"]  # any role reads them
    rows = {r["goal"]: r for r in mia.get("/api/reports/goals", params=PERIOD).json()["data"]}

    raw_booked = _raw(seeded, "name = 'appointment_request'")[""]
    raw_heart = _raw(seeded, "name = 'pageview' AND path LIKE '/services/card%'")[""]
    booked, heart = rows["Appointment booked"], rows["Heart pages"]
    assert (booked["visits"], booked["converted"], booked["conversions"]) == raw_booked
    assert (heart["visits"], heart["converted"], heart["conversions"]) == raw_heart
    assert booked["value"] == booked["conversions"] * 150  # the demo's bookings carry no value of their own
    assert booked["conversion_rate"] == round(raw_booked[1] / raw_booked[0], 4)
    assert 0 < heart["conversion_rate"] < 1


@pytest.mark.parametrize(("by", "per"), [
    ("source", "if(utm_source != '', utm_source, if(referrer_host != '', referrer_host, '(direct)'))"),
    ("campaign", "utm_campaign"),
    ("device_type", "device_type"),
])
def test_a_goal_breaks_down_by_the_visits_source_campaign_and_device(signed_in, seeded, goals, by, per):
    data = signed_in["mia"].get("/api/reports/goals", params=PERIOD | {"by": by}).json()["data"]
    reported = {r[by]: (r["visits"], r["converted"], r["conversions"]) for r in data if r["goal"] == "Appointment booked"}
    expected = _raw(seeded, "name = 'appointment_request'", per)
    expected.pop("", None)  # a visit without a campaign is in no campaign's row
    assert reported == expected


def test_a_goal_breaks_down_by_entry_page(signed_in, seeded, goals):
    data = signed_in["mia"].get("/api/reports/goals", params=PERIOD | {"by": "entry_page"}).json()["data"]
    reported = {r["entry_page"]: r["converted"] for r in data if r["goal"] == "Heart pages"}
    assert reported["/services/cardiology"] > 0
    assert sum(reported.values()) == _raw(seeded, "name = 'pageview' AND path LIKE '/services/card%'")[""][1]


def test_a_filter_narrows_a_goal_to_the_visits_it_selects(signed_in, goals):
    mia = signed_in["mia"]
    everyone = {r["goal"]: r for r in mia.get("/api/reports/goals", params=PERIOD).json()["data"]}
    phones = {r["goal"]: r for r in mia.get("/api/reports/goals", params={**PERIOD, "filter": "device_type:mobile"})
              .json()["data"]}
    assert 0 < phones["Appointment booked"]["converted"] < everyone["Appointment booked"]["converted"]
    assert phones["Appointment booked"]["visits"] < everyone["Appointment booked"]["visits"]


def test_only_analysts_and_admins_define_goals_and_each_change_is_audited(signed_in, seeded, goals):
    for marketer_or_compliance in ("mia", "cora"):
        assert signed_in[marketer_or_compliance].post(
            "/api/goals", json={"name": "Mine", "event": "phone_click"}).status_code == 403
        assert signed_in[marketer_or_compliance].delete(f"/api/goals/{goals[0]['goal_id']}").status_code == 403
    audited = seeded.client.query("SELECT actor, action, resource, outcome FROM audit_log "
                                  "WHERE action LIKE 'goal.%' ORDER BY seq").result_rows
    assert ("user:ana", "goal.add", f"goal:{goals[0]['goal_id']}", "success") in audited
    assert ("user:mia", "goal.add", "/api/goals", "denied") in audited
    assert ("user:cora", "goal.remove", f"/api/goals/{goals[0]['goal_id']}", "denied") in audited


@pytest.mark.parametrize(("body", "says"), [
    ({"name": "Both", "event": "phone_click", "page": "/contact"}, "'event' or 'page'"),
    ({"name": "Neither"}, "'event' or 'page'"),
    ({"name": "Call 555-123-4567", "event": "phone_click"}, "looks like it holds"),
    ({"name": "   ", "event": "phone_click"}, "a name that shows"),
    ({"name": "Bad page", "page": "contact"}, "page"),
    ({"name": "One patient", "page": "/patients/4711234/results"}, "record or account number"),
    ({"name": "Bad event", "event": "no spaces allowed"}, "event"),
    ({"name": "Priceless", "event": "phone_click", "value": -1}, "value"),
    ({"name": "Appointment booked", "event": "phone_click"}, "already"),
])
def test_a_goal_that_breaks_a_rule_is_refused_with_the_reason(signed_in, goals, body, says):
    answer = signed_in["ana"].post("/api/goals", json=body)
    assert answer.status_code == 400 and says in answer.text, answer.text


def test_a_removed_goal_leaves_the_list_and_the_report(signed_in):
    ana = signed_in["ana"]
    added = ana.post("/api/goals", json={"name": "Calls", "event": "phone_click"}).json()
    assert "Calls" in [g["name"] for g in ana.get("/api/goals").json()]
    assert ana.delete(f"/api/goals/{added['goal_id']}").status_code == 204
    assert "Calls" not in [g["name"] for g in ana.get("/api/goals").json()]
    assert "Calls" not in [r["goal"] for r in ana.get("/api/reports/goals", params=PERIOD).json()["data"]]
    assert ana.delete(f"/api/goals/{added['goal_id']}").status_code == 404


def test_an_unknown_breakdown_is_refused(signed_in):
    answer = signed_in["mia"].get("/api/reports/goals", params={"by": "visitor_id"})
    assert answer.status_code == 400
