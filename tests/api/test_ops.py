"""Operations through the internal API: health, migrations, audit verification, demo seeding, its schema."""

import json

from litestar.testing import TestClient

from api import internal_app
from collector import demo
from tests.conftest import AUDIT_KEY
from warehouse import MIGRATIONS, open_warehouse

TOKEN = "test-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}


def test_internal_health_reports_an_unreachable_warehouse_as_503(warehouse, warehouse_settings):
    lost = open_warehouse(warehouse_settings, audit_key=AUDIT_KEY)
    with TestClient(internal_app(lost, TOKEN)) as client:
        assert client.get("/healthz").status_code == 200
        lost.close()
        down = client.get("/healthz")
    assert down.status_code == 503 and down.json()["detail"] == "warehouse unreachable"


def test_operations_are_audited_with_the_acting_account(warehouse):
    with TestClient(internal_app(warehouse, TOKEN)) as client:
        migrated = client.post("/api/ops/migrate", headers=AUTH | {"sluice-actor": "alice"})
        verified = client.post("/api/ops/audit/verify", headers=AUTH | {"sluice-actor": "bob"})
    assert migrated.json() == {"applied": [], "current": MIGRATIONS[-1].version}
    assert verified.json()["intact"] is True
    last_two = list(warehouse.audit.entries())[-2:]
    assert [(e.actor, e.action) for e in last_two] == [("ops:alice", "warehouse.migrate"), ("ops:bob", "audit.verify")]


def test_a_broken_chain_is_reported_and_its_verification_audited_as_a_failure(warehouse):
    warehouse.audit.record("alice", "report.read")
    warehouse.client.command("ALTER TABLE audit_log UPDATE resource = 'x' WHERE seq = 2", settings={"mutations_sync": 1})
    with TestClient(internal_app(warehouse, TOKEN)) as client:
        result = client.post("/api/ops/audit/verify", headers=AUTH).json()
    assert result["intact"] is False and [f["seq"] for f in result["findings"]] == [2]
    assert list(warehouse.audit.entries())[-1].outcome == "failure"


def test_operations_refuse_a_missing_or_wrong_token(warehouse):
    with TestClient(internal_app(warehouse, TOKEN)) as client:
        assert client.post("/api/ops/migrate").status_code == 401
        assert client.post("/api/ops/migrate", headers={"authorization": "Bearer nope"}).status_code == 401
        assert client.post("/api/ops/migrate", headers={"authorization": TOKEN}).status_code == 401


def test_the_internal_api_publishes_its_openapi_schema(warehouse):
    with TestClient(internal_app(warehouse, TOKEN)) as client:
        schema = client.get("/api/schema/openapi.json").json()
    assert {"/api/ops/migrate", "/api/ops/audit/verify"} <= schema["paths"].keys()


def test_seeding_through_the_api_loads_events_once_when_asked(warehouse):
    with TestClient(internal_app(warehouse, TOKEN, demo=demo.load)) as client:
        first = client.post("/api/ops/demo/seed", json={"events": 3000, "days": 30, "only_if_empty": True}, headers=AUTH)
        again = client.post("/api/ops/demo/seed", json={"events": 3000, "only_if_empty": True}, headers=AUTH)
        more = client.post("/api/ops/demo/seed", json={"events": 1000, "seed": 1}, headers=AUTH)
        refused = client.post("/api/ops/demo/seed", json={"events": 10_000_000}, headers=AUTH)
    assert first.json() == {"inserted": 3000, "skipped": False}
    assert again.json() == {"inserted": 0, "skipped": True}
    assert more.json()["inserted"] == 1000 and refused.status_code == 400
    assert warehouse.client.command("SELECT count() FROM events") == 4000
    seeds = [(e.outcome, json.loads(e.detail)) for e in warehouse.audit.entries() if e.action == "demo.seed"]
    assert seeds == [("success", {"events": 3000, "days": 30}), ("success", {"events": 0, "skipped": True}),
                     ("success", {"events": 1000, "days": 90}), ("failure", {"status": 400})]


def test_seeding_is_refused_where_no_demo_loader_is_plugged_in(warehouse):
    with TestClient(internal_app(warehouse, TOKEN)) as client:
        answer = client.post("/api/ops/demo/seed", json={"events": 10}, headers=AUTH)
    assert answer.status_code == 409 and "no demo loader" in answer.json()["detail"]
    assert warehouse.client.command("SELECT count() FROM events") == 0


def test_every_operation_declares_the_shape_of_its_request_and_answer(warehouse):
    with TestClient(internal_app(warehouse, TOKEN)) as client:
        paths = client.get("/api/schema/openapi.json").json()["paths"]
    operations = {(method, path): spec for path, methods in paths.items() if path.startswith("/api/ops/")
                  for method, spec in methods.items()}
    assert len(operations) == 10
    for (method, path), spec in operations.items():
        answer = spec["responses"][next(code for code in spec["responses"] if code.startswith("2"))]
        shape = answer["content"]["application/json"]["schema"]
        assert "$ref" in shape or "$ref" in shape.get("items", {}), (method, path, shape)
        if "requestBody" in spec:
            assert "$ref" in spec["requestBody"]["content"]["application/json"]["schema"], (method, path)


def test_a_forwarder_run_while_another_instance_forwards_is_a_409(warehouse, tmp_path):
    import msgspec

    from forwarder.runner import LEASE, Forwarder
    from forwarder.settings import ForwarderSettings
    from warehouse.leases import Leases

    policy = msgspec.convert({"signals": [{"event": "appointment_request", "name": "Lead"}],
                              "destinations": [{"type": "csv", "id": "mmm", "dimensions": ["device_type"]}]},
                             ForwarderSettings)
    Leases(warehouse.client).acquire(LEASE, "serve-b:1234", ttl=60)
    with TestClient(internal_app(warehouse, TOKEN, forwarder=Forwarder(warehouse, policy, tmp_path))) as client:
        answer = client.post("/api/ops/forward/run", json={}, headers=AUTH)
    assert answer.status_code == 409 and "serve-b" in answer.json()["detail"]


def test_a_backup_needs_an_absolute_destination_and_a_process_that_keeps_a_data_dir(warehouse):
    with TestClient(internal_app(warehouse, TOKEN)) as client:
        relative = client.post("/api/ops/backup", json={"destination": "backups/today"}, headers=AUTH)
        unknown = client.post("/api/ops/backup", json={"destination": "/b", "to": "x"}, headers=AUTH)
        nowhere = client.post("/api/ops/backup", json={"destination": "/srv/backups/today"}, headers=AUTH)
        anyone = client.post("/api/ops/backup", json={"destination": "/srv/backups/today"})
    assert (relative.status_code, unknown.status_code, nowhere.status_code, anyone.status_code) == (400, 400, 409, 401)
    assert "keeps no data dir" in nowhere.json()["detail"]
