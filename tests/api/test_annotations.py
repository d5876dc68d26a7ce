"""Annotations: any signed-in role reads them, marketers, analysts and admins write them, and every change is
audited; their text keeps people and records out."""

from datetime import UTC, date, datetime, timedelta

import pytest
from argon2 import PasswordHasher, profiles
from litestar.testing import TestClient

from api import internal_app
from api.accounts import Role
from tests.api.signed_in import SignedIn
from tests.conftest import PASSWORD

TODAY = datetime.now(UTC).date()


@pytest.fixture
def app(warehouse):
    app = internal_app(warehouse, "ops", ["main", "clinic"], hasher=PasswordHasher.from_parameters(profiles.CHEAPEST))
    with TestClient(app) as client:
        for name, role in [("mia", Role.MARKETER), ("max", Role.MARKETER), ("cora", Role.COMPLIANCE),
                           ("ada", Role.ADMIN)]:
            client.post("/api/ops/users", json={"username": name, "role": role, "password": PASSWORD},
                        headers={"authorization": "Bearer ops"}).raise_for_status()
        yield client


def _as(client: TestClient, username: str) -> SignedIn:
    return SignedIn(client, username)


def _note(client, text: str = "Knee campaign launched", day: date = TODAY, **more):
    return client.post("/api/annotations", json={"day": str(day), "text": text, **more})


def test_an_annotation_is_read_back_in_its_period_with_its_author(app):
    mia = _as(app, "mia")
    added = _note(mia, "  Knee   campaign launched ", TODAY - timedelta(days=3))
    assert added.status_code == 201
    _note(mia, "Long ago", TODAY - timedelta(days=90))
    _note(mia, "On the clinic site", site="clinic")
    shown = mia.get("/api/annotations").json()  # the reports' default: the last 30 days of the first site
    assert [(a["text"], a["author"], a["day"]) for a in shown] == [
        ("Knee campaign launched", "mia", str(TODAY - timedelta(days=3)))]
    assert [a["text"] for a in mia.get("/api/annotations", params={"site": "clinic"}).json()] == ["On the clinic site"]


def test_compliance_reads_annotations_but_cannot_write_them(app):
    _note(_as(app, "mia"))
    cora = _as(app, "cora")
    assert len(cora.get("/api/annotations").json()) == 1
    assert _note(cora).status_code == 403


def test_only_the_author_or_an_admin_removes_an_annotation(app):
    mia, max_, ada = _as(app, "mia"), _as(app, "max"), _as(app, "ada")
    first, second = _note(mia).json(), _note(mia, "Second").json()
    assert max_.delete(f"/api/annotations/{first['annotation_id']}").status_code == 403
    assert mia.delete(f"/api/annotations/{first['annotation_id']}").status_code == 204
    assert ada.delete(f"/api/annotations/{second['annotation_id']}").status_code == 204
    assert mia.get("/api/annotations").json() == []
    assert mia.delete(f"/api/annotations/{first['annotation_id']}").status_code == 404  # gone already


@pytest.mark.parametrize("text", [
    "Call jane.doe@example.org back", "Patient MRN 4417823 complained", "Rang 555-123-4567",
    "SSN 123-45-6789 seen in a form", "SSN 123 45 6789", "SSN 123.45.6789", "Rang 555–123–4567 (autocorrect)",
    "Rang 555-123-4567x12", "Call +33 1 23 45 67 89", "Link ?u=jane.doe%40gmail.com", "Ask jdoe@stmarys",
    "Chart #44178 reviewed", "Pt 44178", "MR0012345", "E1234567", "M.R.N. 44178", "Encounter 12345678-9",
    "Host ip-10-0-0-5 down", "Server 10.0.0.5 down", "jane＠example.org", "jane@exa\u200bmple.org",
])
def test_text_that_names_a_person_or_a_record_is_refused_and_nothing_stored(app, warehouse, text):
    refused = _note(_as(app, "mia"), text)
    assert refused.status_code == 400 and "keep people and records out" in refused.text
    assert warehouse.client.command("SELECT count() FROM annotations") == 0


@pytest.mark.parametrize("text", ["Launched 2026-12-01 at 09:15:00", "Budget cut approved", "v1.2 of /services live",
                                  "Knee campaign, 20 % off", "Radio spots on 3 stations"])
def test_what_annotations_are_made_of_is_accepted(app, text):
    assert _note(_as(app, "mia"), text).status_code == 201


def test_invisible_characters_are_dropped_so_no_text_hides_another(app):
    mia = _as(app, "mia")
    shown = _note(mia, "Budget cut approved (ada)" + "\u2800" * 150 + "\u200b\u202e").json()
    assert shown["text"] == "Budget cut approved (ada)" and shown["author"] == "mia"
    assert _note(mia, "\u200b" * 200).status_code == 400 and _note(mia, "\u2800 \u3164").status_code == 400


def test_a_day_holds_a_few_annotations_so_one_colleague_cannot_bury_the_rest(app):
    from api.annotations import PER_DAY

    mia, max_ = _as(app, "mia"), _as(app, "max")
    for n in range(PER_DAY):
        assert _note(max_, f"Note {n}").status_code == 201
    refused = _note(mia, "Mine")
    assert refused.status_code == 400 and "the most a day may have" in refused.text
    assert _note(mia, "Mine", TODAY - timedelta(days=1)).status_code == 201


@pytest.mark.parametrize("body", [
    {"day": "2149-06-07", "text": "Past what a day column holds"}, {"day": str(TODAY + timedelta(days=2)), "text": "Too far ahead to list"},
    {"day": str(TODAY), "text": ""}, {"day": str(TODAY), "text": "x" * 201}, {"day": "1999-12-31", "text": "Old"},
    {"day": "someday", "text": "Vague"}, {"text": "No day"}, {"day": str(TODAY), "text": "   "},
    {"day": str(TODAY), "text": "Elsewhere", "site": "nowhere"}, {"day": str(TODAY), "text": "x", "author": "ada"},
])
def test_a_malformed_annotation_is_refused_with_400(app, warehouse, body):
    assert _as(app, "mia").post("/api/annotations", json=body).status_code == 400
    assert warehouse.client.command("SELECT count() FROM annotations") == 0


def test_every_change_and_read_is_audited_under_its_author(app, warehouse):
    mia = _as(app, "mia")
    added = _note(mia).json()
    mia.get("/api/annotations")
    mia.delete(f"/api/annotations/{added['annotation_id']}")
    entries = [(e.actor, e.action, e.resource) for e in warehouse.audit.entries() if e.action.startswith("annotation")]
    resource = f"annotation:{added['annotation_id']}"
    assert entries == [("user:mia", "annotation.add", resource), ("user:mia", "annotation.read", "/api/annotations"),
                       ("user:mia", "annotation.remove", resource)]
