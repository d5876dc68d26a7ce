"""Saved views: each user keeps named views of their own, checked like a report's parameters, every change
audited."""

from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from argon2 import PasswordHasher, profiles
from litestar.testing import TestClient

from api import internal_app
from api.accounts import Role
from api.views import MAX_VIEWS
from mail import MailSettings
from tests.api.signed_in import SignedIn as _as
from tests.conftest import PASSWORD

KNEE = {"days": 7, "compare": False, "filters": {"utm_campaign": "knee-2026", "device_type": "mobile"}}


@pytest.fixture
def app(warehouse):
    app = internal_app(warehouse, "ops", ["main", "clinic"], hasher=PasswordHasher.from_parameters(profiles.CHEAPEST))
    with TestClient(app) as client:
        for name, role in [("mia", Role.MARKETER), ("cora", Role.COMPLIANCE)]:
            client.post("/api/ops/users", json={"username": name, "role": role, "password": PASSWORD},
                        headers={"authorization": "Bearer ops"}).raise_for_status()
        yield client


def test_a_saved_view_is_read_back_by_its_owner_only(app):
    mia, cora = _as(app, "mia"), _as(app, "cora")
    assert mia.put("/api/views/Knee campaign, mobile", json=KNEE).status_code == 200
    assert [(v["name"], v["view"]) for v in mia.get("/api/views").json()] == [
        ("Knee campaign, mobile", {"days": 7, "compare": False, "site": "", "filters": KNEE["filters"], "email": None})]
    assert cora.get("/api/views").json() == []
    assert cora.delete("/api/views/Knee campaign, mobile").status_code == 404  # not hers to remove


def test_saving_under_the_same_name_replaces_and_removing_forgets(app):
    mia = _as(app, "mia")
    mia.put("/api/views/Weekly", json=KNEE)
    mia.put("/api/views/Weekly", json={"days": 14})
    assert [v["view"]["days"] for v in mia.get("/api/views").json()] == [14]
    assert mia.delete("/api/views/Weekly").status_code == 204
    assert mia.get("/api/views").json() == []
    assert mia.delete("/api/views/Weekly").status_code == 404


@pytest.mark.parametrize(("name", "body"), [
    ("Bad/name", KNEE), ("x" * 61, KNEE), ("   ", KNEE), ("Fine", {"days": 0}), ("Fine", {"days": 401}),
    ("Fine", {"filters": {"visitor_id": "x"}}), ("Fine", {"filters": {"device_type": "Mobile Phone!"}}),
    ("Fine", {"site": "nowhere"}), ("Fine", {"days": 7, "owner": "ada"}),
])
def test_a_view_that_no_report_could_show_is_refused_with_400(app, warehouse, name, body):
    assert _as(app, "mia").put(f"/api/views/{quote(name, safe='')}", json=body).status_code == 400
    assert warehouse.client.command("SELECT count() FROM saved_views") == 0


def test_a_user_keeps_at_most_fifty_views(app):
    mia = _as(app, "mia")
    for n in range(MAX_VIEWS):
        mia.put(f"/api/views/View {n}", json={"days": 7})
    refused = mia.put("/api/views/One more", json={"days": 7})
    assert refused.status_code == 400 and "remove one first" in refused.text
    assert mia.put("/api/views/View 3", json={"days": 30}).status_code == 200  # replacing one is fine


def test_every_change_and_read_is_audited(app, warehouse):
    mia = _as(app, "mia")
    mia.put("/api/views/Weekly", json=KNEE)
    mia.get("/api/views")
    mia.delete("/api/views/Weekly")
    entries = [(e.actor, e.action, e.resource) for e in warehouse.audit.entries() if e.action.startswith("view.")]
    assert entries == [("user:mia", "view.save", "view:Weekly"), ("user:mia", "view.read", "/api/views"),
                       ("user:mia", "view.remove", "view:Weekly")]


def test_a_stored_view_that_no_longer_reads_as_one_is_left_out_not_an_error(app, warehouse):
    mia = _as(app, "mia")
    mia.put("/api/views/Kept", json={"days": 7})
    warehouse.client.insert("saved_views", [["mia", "Retired", '{"days": 7, "filters": {"gone": "x"}}', False,
                                             datetime.now(UTC)]],
                            column_names=["username", "name", "view", "deleted", "changed_at"])
    answer = mia.get("/api/views")
    assert answer.status_code == 200 and [v["name"] for v in answer.json()] == ["Kept"]


WEEKLY = KNEE | {"email": {"every": "week", "to": ["marketing@example-hospital.org"]}}


@pytest.fixture
def with_relay(warehouse):
    mail = MailSettings(relay="smtp.example-hospital.org", sender="sluice@example-hospital.org",
                        internal_domains=["example-hospital.org"])
    app = internal_app(warehouse, "ops", ["main"], hasher=PasswordHasher.from_parameters(profiles.CHEAPEST), mail=mail)
    with TestClient(app) as client:
        client.post("/api/ops/users", json={"username": "mia", "role": "marketer", "password": PASSWORD},
                    headers={"authorization": "Bearer ops"}).raise_for_status()
        yield _as(client, "mia")


def test_a_view_is_emailed_weekly_or_monthly_to_internal_addresses(with_relay):
    assert with_relay.put("/api/views/Knee weekly", json=WEEKLY).status_code == 200
    assert with_relay.get("/api/views").json()[0]["view"]["email"] == WEEKLY["email"]
    outside = WEEKLY | {"email": {"every": "month", "to": ["marketing@example-hospital.org", "me@gmail.com"]}}
    refused = with_relay.put("/api/views/Knee monthly", json=outside)
    assert refused.status_code == 400 and "me@gmail.com" in refused.json()["detail"]
    assert with_relay.put("/api/views/Knee daily", json=WEEKLY | {"email": {"every": "day", "to": ["a@example-hospital.org"]}}
                          ).status_code == 400
    assert with_relay.put("/api/views/Nobody", json=WEEKLY | {"email": {"every": "week", "to": []}}).status_code == 400
    for trick in ("x(@example-hospital.org", "me%evil.org@example-hospital.org", "me@example-hospital.org.evil.com",
                  "me@example-hospital.org\n"):
        assert with_relay.put("/api/views/Tricky", json=WEEKLY | {"email": {"every": "week", "to": [trick]}}
                              ).status_code == 400, trick
    named = with_relay.put("/api/views/Call 555-123-4567", json=WEEKLY)
    assert named.status_code == 400 and "subject line" in named.text


def test_a_view_cannot_be_emailed_where_no_relay_is_configured(app):
    refused = _as(app, "mia").put("/api/views/Knee weekly", json=WEEKLY)
    assert refused.status_code == 409 and "no mail relay" in refused.json()["detail"]
