"""Analysts explore single events, and see what happened, never who it was."""

import re
import uuid

import pytest
from argon2 import PasswordHasher, profiles
from litestar.testing import TestClient

from api import internal_app
from tests.conftest import demo_database

OPS = {"authorization": "Bearer ops"}
PASSWORD = "violet-Harbor-93-kite"


@pytest.fixture(scope="module")
def seeded(engine_path):
    with demo_database(engine_path, 3_000, days=7, site="main", seed=9) as warehouse:
        yield warehouse


def _analyst(app) -> TestClient:
    client = TestClient(app)
    client.__enter__()
    client.post("/api/ops/users", json={"username": "ana", "role": "analyst", "password": PASSWORD}, headers=OPS)
    token = client.post("/api/session", json={"username": "ana", "password": PASSWORD}).json()["token"]
    client.headers["authorization"] = f"Bearer {token}"
    return client


@pytest.fixture(scope="module")
def api(seeded):
    client = _analyst(internal_app(seeded, "ops", ["main"], hasher=PasswordHasher.from_parameters(profiles.CHEAPEST)))
    yield client
    client.__exit__(None, None, None)


def test_events_come_newest_first_with_every_identifier_masked(api, seeded):
    body = api.get("/api/events", params={"site": "main", "page_size": 50}).json()
    assert body["total"] == 3_000 and len(body["events"]) == 50
    times = [e["time"] for e in body["events"]]
    assert times == sorted(times, reverse=True)
    raw = seeded.client.query("SELECT toString(visitor_id), toString(session_id), IPv6NumToString(client_ip), "
                              "click_id, url FROM events").result_rows
    identifiers = {value for row in raw for value in row if value}
    page = api.get("/api/events", params={"site": "main", "page_size": 500})
    assert not [value for value in identifiers if value in page.text]
    # Among the newest 500 (the newest 50 may all be a few visitors of one choice, by the time of day).
    events = page.json()["events"]
    anonymous = [e for e in events if not e["visitor"]]  # stored without analytics consent
    assert 0 < len(anonymous) < len(events)
    assert all(e["session"] == e["network"] == "" for e in anonymous)
    for event in (e for e in events if e["visitor"]):
        assert re.fullmatch(r"[0-9a-f]{16}", event["visitor"]) and re.fullmatch(r"[0-9a-f]{16}", event["session"])
        assert re.fullmatch(r"\d+\.\d+\.\d+\.0/24", event["network"])


def test_one_visitor_keeps_one_pseudonym_and_a_new_api_process_gives_new_ones(api, seeded):
    events = api.get("/api/events", params={"site": "main", "page_size": 500}).json()["events"]
    by_session = {}
    for event in events:
        by_session.setdefault(event["session"], set()).add(event["visitor"])
    assert all(len(visitors) == 1 for visitors in by_session.values())
    again = api.get("/api/events", params={"site": "main", "page_size": 5}).json()["events"]
    assert [e["visitor"] for e in again] == [e["visitor"] for e in events[:5]]
    other = _analyst(internal_app(seeded, "ops", ["main"], hasher=PasswordHasher.from_parameters(profiles.CHEAPEST)))
    later = other.get("/api/events", params={"site": "main", "page_size": 50}).json()["events"]
    other.__exit__(None, None, None)
    assert [e["path"] for e in later] == [e["path"] for e in events[:50]]
    named = {e["visitor"] for e in later} - {""}  # "": stored without analytics consent, nobody to name
    assert named and not named & {e["visitor"] for e in events}


def test_filters_pages_and_audit(api, seeded):
    page = api.get("/api/events", params={"site": "main", "filter": "name:appointment_request", "page": 2,
                                          "page_size": 10}).json()
    assert page["page"] == 2 and len(page["events"]) == 10
    # A filter selects sessions, as in reports: the booking sessions' page views come too.
    booked = seeded.client.command("SELECT count() FROM events WHERE session_id IN "
                                   "(SELECT session_id FROM events WHERE name = 'appointment_request')")
    assert page["total"] == booked and {e["name"] for e in page["events"]} & {"pageview", "appointment_request"}
    entry = list(seeded.audit.entries())[-1]
    assert (entry.actor, entry.action, entry.resource) == ("user:ana", "events.read", "/api/events")
    assert '"page":2' in entry.detail and '"rows":' in entry.detail


@pytest.mark.parametrize("params", [{"page_size": 501}, {"page": 0}, {"filter": "client_ip:1.2.3.4"},
                                    {"from": "2020-01-01"}])
def test_bad_parameters_are_refused(api, params):
    assert api.get("/api/events", params={"site": "main"} | params).status_code == 400


def test_ids_in_paths_and_properties_are_masked_too(warehouse):
    from datetime import UTC, datetime, timedelta

    from collector.enrich import Consent, Visit, enrich
    from collector.wire import WireEvent
    from warehouse.events import encode_rows
    from warehouse.reports import ReportQuery, masked_events
    from warehouse.visits import store_events

    visit = Visit(received_at=datetime.now(UTC), client_ip="192.0.2.1", user_agent="", visitor_id=uuid.uuid4(),
                  session_id=uuid.uuid4(), consent=Consent(True, True))
    event = enrich(WireEvent(site="main", name="lab_results", url="https://h.example/patients/12345678/results",
                             props={"mrn": "A1234567", "email": "jane@example.org", "phone": "555-867-5309",
                                    "service_line": "cardiology"}), visit)
    store_events(warehouse.client, encode_rows([event]), token="one")
    today = datetime.now(UTC).date()
    (shown,), _ = masked_events(warehouse.client, ReportQuery(site="main", start=today - timedelta(days=1), end=today),
                                b"key", 0, 10)
    assert shown.path == "/patients/*/results"
    assert shown.props == {"mrn": "*", "email": "*", "phone": "*", "service_line": "cardiology"}
