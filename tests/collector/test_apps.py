from litestar.testing import TestClient

from collector import internal_app
from warehouse import MIGRATIONS, open_warehouse

TOKEN = "test-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}


def test_the_public_app_serves_health_and_nothing_else(make_public):
    with TestClient(make_public()) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        for path in ("/metrics", "/api/schema/openapi.json", "/schema", "/api/ops/audit/verify"):
            assert client.get(path).status_code == 404, path


def test_internal_health_reports_an_unreachable_warehouse_as_503(warehouse, warehouse_settings):
    lost = open_warehouse(warehouse_settings)
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
    assert result["intact"] is False and result["broken"]["seq"] == 2
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
