"""The public listener routes only what browsers need."""

from litestar.testing import TestClient


def test_the_public_app_serves_health_and_nothing_else(make_public):
    with TestClient(make_public()) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        for path in ("/metrics", "/api/schema/openapi.json", "/schema", "/api/ops/audit/verify"):
            assert client.get(path).status_code == 404, path

