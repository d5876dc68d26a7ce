"""The OpenAPI document tells the truth: schemathesis, with every check, against a live internal API."""

import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher, profiles
from litestar.testing import TestClient

from api import internal_app
from collector import demo
from tests.conftest import AUDIT_KEY, PASSWORD, serving
from warehouse import WarehouseSettings, open_warehouse
from warehouse.reports import FILTERS

CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES = "20"


@pytest.fixture(scope="module")
def live(engine_path):
    """An API of its own (schemathesis adds and changes accounts), over a little demo traffic."""
    settings = WarehouseSettings(dsn=f"chdb://{engine_path}?database=openapi_{uuid.uuid4().hex[:8]}")
    warehouse = open_warehouse(settings, migrate_as="test", audit_key=AUDIT_KEY)
    demo.load(warehouse, 2_000, days=10, site="default", seed=3)
    app = internal_app(warehouse, "ops", ["default"], hasher=PasswordHasher.from_parameters(profiles.CHEAPEST))
    with TestClient(app) as setup:
        setup.post("/api/ops/users", json={"username": "admin", "role": "admin", "password": PASSWORD},
                   headers={"authorization": "Bearer ops"}).raise_for_status()
    with serving(app) as url:
        yield url
    warehouse.close()


def _schemathesis(url: str, token: str, *selection: str) -> subprocess.CompletedProcess:
    command = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    return subprocess.run([command, "--config-file", str(CONFIG), "run", f"{url}/api/schema/openapi.json",
                           "--max-examples", EXAMPLES, "--generation-deterministic", "--header",
                           f"Authorization: Bearer {token}", *selection], capture_output=True, text=True, timeout=900)


def test_every_route_behind_a_login_answers_as_documented(live):
    token = httpx.post(f"{live}/api/session", json={"username": "admin", "password": PASSWORD}).json()["token"]
    # Logging out would end the run's own session; tests/api/test_auth.py covers it.
    run = _schemathesis(live, token, "--exclude-path-regex", "^/api/ops/", "--exclude-name", "DELETE /api/session")
    assert run.returncode == 0, run.stdout[-6000:]
    selected = re.search(r"Operations:\s+(\d+) selected", run.stdout)
    assert selected and f"Tested: {selected[1]}" in run.stdout, "every selected operation was tried"


def test_every_operation_answers_as_documented(live):
    run = _schemathesis(live, "ops", "--include-path-regex", "^/api/ops/")
    assert run.returncode == 0, run.stdout[-6000:]


def test_the_document_names_the_bearer_scheme_and_each_routes_refusals(live):
    document = httpx.get(f"{live}/api/schema/openapi.json").json()
    assert document["components"]["securitySchemes"]["BearerToken"] == {
        "type": "http", "scheme": "bearer",
        "description": "a login session's token (POST /api/session), or the ops token for /api/ops"}
    public = {("get", "/healthz"): {"503"}, ("post", "/api/session"): {"401", "429", "503"},
              ("post", "/api/session/oidc"): {"401", "403", "404", "429", "503"}}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            refusals = set(operation["responses"]) - {"200", "201", "204"}
            if (method, path) in public:
                assert "security" not in operation and public[method, path] <= refusals
            else:
                assert operation.get("security") == [{"BearerToken": []}], f"{method} {path}"
                assert {"401", "503"} <= refusals, f"{method} {path}"
    report = document["paths"]["/api/reports/{name}"]["get"]
    parameters = {p["name"]: p for p in report["parameters"]}
    assert {"site", "from", "to", "filter", "compare"} <= set(parameters)
    assert parameters["filter"]["schema"]["maxItems"] == len(FILTERS)
    assert document["components"]["schemas"]["DemoSeed"]["additionalProperties"] is False
