from collections import Counter
from datetime import UTC, datetime, timedelta

from litestar.testing import TestClient

from collector import internal_app
from collector.demo import generate

NOW = datetime(2026, 11, 1, tzinfo=UTC)
AUTH = {"authorization": "Bearer t"}


def test_demo_traffic_looks_like_a_hospital_website():
    rows = list(generate(20_000, days=90, site="main", seed=7, now=NOW))
    assert len(rows) == 20_000 and {row.site for row in rows} == {"main"}
    names = Counter(row.name for row in rows)
    assert names["pageview"] > 15_000 and {"appointment_request", "contact_form", "phone_click"} <= names.keys()
    paths = {row.path for row in rows}
    assert {"/services/cardiology", "/services/orthopaedics", "/symptom-checker", "/find-a-doctor"} <= paths
    assert {"google", "facebook", "newsletter"} <= {row.utm_source for row in rows}
    assert {"gclid", "fbclid", "ttclid", "msclkid"} <= {row.click_id_type for row in rows}
    assert {"mobile", "desktop", "tablet", "bot"} <= {row.device_type for row in rows}
    assert any(row.gpc for row in rows) and not any(row.consent_ads for row in rows if row.gpc or row.dnt)
    assert 0 < sum(row.consent_ads for row in rows) < len(rows)
    assert all(NOW - timedelta(days=91) <= row.timestamp <= NOW for row in rows)
    # Visitors come back: fewer sessions than page views, fewer visitors than sessions.
    assert len({r.visitor_id for r in rows}) < len({r.session_id for r in rows}) < names["pageview"]


def test_the_same_seed_gives_the_same_journeys():
    first, second = (list(generate(500, 30, "main", seed=3, now=NOW)) for _ in range(2))
    assert [(r.visitor_id, r.path, r.timestamp) for r in first] == [(r.visitor_id, r.path, r.timestamp) for r in second]


def test_seeding_through_the_api_loads_events_once_when_asked(warehouse):
    with TestClient(internal_app(warehouse, "t")) as client:
        first = client.post("/api/ops/demo/seed", json={"events": 3000, "days": 30, "only_if_empty": True}, headers=AUTH)
        again = client.post("/api/ops/demo/seed", json={"events": 3000, "only_if_empty": True}, headers=AUTH)
        more = client.post("/api/ops/demo/seed", json={"events": 1000, "seed": 1}, headers=AUTH)
        refused = client.post("/api/ops/demo/seed", json={"events": 10_000_000}, headers=AUTH)
    assert first.json() == {"inserted": 3000, "skipped": False}
    assert again.json() == {"inserted": 0, "skipped": True}
    assert more.json()["inserted"] == 1000 and refused.status_code == 400
    assert warehouse.client.command("SELECT count() FROM events") == 4000
    assert [e.action for e in warehouse.audit.entries()].count("demo.seed") == 2
