"""What compliance reads: the website's third parties, known trackers first, a page at a time."""

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher, profiles
from litestar.testing import TestClient

from api import internal_app
from api.accounts import Role
from tests.conftest import PASSWORD
from warehouse.trackers import Finding, Trackers

NOW = datetime.now(UTC)


@pytest.fixture
def compliance(warehouse):
    app = internal_app(warehouse, "ops", ["main"], hasher=PasswordHasher.from_parameters(profiles.CHEAPEST))
    with TestClient(app) as client:
        client.post("/api/ops/users", json={"username": "carol", "role": Role.COMPLIANCE, "password": PASSWORD},
                    headers={"authorization": "Bearer ops"}).raise_for_status()
        token = client.post("/api/session", json={"username": "carol", "password": PASSWORD}).json()["token"]
        client.headers["authorization"] = f"Bearer {token}"
        yield client


def _reported(host: str, minutes_ago: int) -> Finding:
    return Finding(scan_id="", site="main", page="/", host=host, vendor="", kind="csp", source="csp",
                   seen_at=NOW - timedelta(minutes=minutes_ago))


def test_known_trackers_come_first_however_many_made_up_hosts_bury_them(compliance, warehouse):
    made_up = [_reported(f"x{n}.flood.example", minutes_ago=0) for n in range(150)]
    real = [_reported("connect.facebook.net", minutes_ago=600), _reported("analytics.tiktok.com", minutes_ago=900)]
    Trackers(warehouse.client).record([*made_up, *real], token="flood")
    first = compliance.get("/api/trackers", params={"page_size": 100}).json()
    assert (first["total"], first["not_allowed"], len(first["hosts"])) == (152, 152, 100)
    assert [h["host"] for h in first["hosts"][:2]] == ["connect.facebook.net", "analytics.tiktok.com"]
    second = compliance.get("/api/trackers", params={"page": 2, "page_size": 100}).json()
    assert len(second["hosts"]) == 52 and all(h["host"].endswith(".flood.example") for h in second["hosts"])


@pytest.mark.parametrize(("since", "status"), [
    ("1999-12-31T23:59:59Z", 400), ("2200-01-01", 400), ("2000-01-01", 200), ("2026-11-01T08:00:00", 200),
])
def test_the_audit_log_is_searched_from_2000_to_2200_a_time_without_zone_read_as_utc(compliance, since, status):
    answer = compliance.get("/api/audit", params={"since": since})
    assert answer.status_code == status
    if status == 400:
        assert "'since' must be between 2000 and 2200" in answer.text
