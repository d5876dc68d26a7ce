"""Every internal route is role-checked and audited by one hook, which withholds answers it cannot record."""

import json

import pytest
from argon2 import PasswordHasher, profiles
from litestar.testing import TestClient

from api import internal_app
from api.accounts import Role
from api.audit import Unaudited, declared_action
from api.auth import PUBLIC, authorized
from api.ops import require_ops_token
from collector import demo

OPS = {"authorization": "Bearer ops", "sluice-actor": "root"}
PASSWORD = "violet-Harbor-93-kite"
LITESTARS_OWN = {"/api/schema", "/api/schema/openapi.json", "/api/schema/{path:str}"}
"""The API's OpenAPI description: public, as such a document is, and holding no data."""


@pytest.fixture
def app(warehouse):
    return internal_app(warehouse, "ops", ["default"], hasher=PasswordHasher.from_parameters(profiles.CHEAPEST))


@pytest.fixture
def api(app):
    with TestClient(app) as client:
        for role in Role:
            client.post("/api/ops/users", json={"username": role.value, "role": role.value, "password": PASSWORD},
                        headers=OPS).raise_for_status()
        yield client


def _bearer(api, username: str) -> dict[str, str]:
    token = api.post("/api/session", json={"username": username, "password": PASSWORD}).json()["token"]
    return {"authorization": f"Bearer {token}"}


def _handlers(app):
    for route in app.routes:
        for handler in route.route_handlers:
            if route.path in LITESTARS_OWN or handler.http_methods == {"OPTIONS"}:
                continue  # the schema, and Litestar's automatic answer naming a path's methods
            yield f"{'/'.join(sorted(handler.http_methods))} {route.path}", handler


def test_every_route_declares_its_audit_action_or_why_it_has_none(app):
    undeclared = [name for name, handler in _handlers(app) if declared_action(handler.opt) is None]
    assert not undeclared, f"routes that declare no audit action: {undeclared}"
    unaudited = {name: declared_action(h.opt).reason for name, h in _handlers(app)
                 if isinstance(declared_action(h.opt), Unaudited)}
    assert sorted(unaudited) == ["GET /healthz", "GET /metrics"]


def test_every_route_checks_a_role_or_the_ops_token_or_says_why_anyone_may_call_it(app):
    unchecked = []
    for name, handler in _handlers(app):
        guards = {getattr(guard, "func", guard) for guard in handler.resolve_guards()}
        roles = handler.opt.get("roles", ())
        if not ((authorized in guards and roles) or require_ops_token in guards or handler.opt.get(PUBLIC)):
            unchecked.append(name)
    assert not unchecked, f"routes with no role check: {unchecked}"
    public = sorted(name for name, handler in _handlers(app) if handler.opt.get(PUBLIC))
    assert public == ["GET /healthz", "GET /metrics", "POST /api/session", "POST /api/session/oidc"]


def test_the_two_operations_once_left_unaudited_now_write_entries(api, warehouse):
    api.get("/api/ops/users", headers=OPS).raise_for_status()
    api.get("/api/ops/forward/status", headers=OPS).raise_for_status()
    last = list(warehouse.audit.entries())[-2:]
    assert [(e.actor, e.action, e.resource) for e in last] == [
        ("ops:root", "users.read", "/api/ops/users"), ("ops:root", "forward.status.read", "/api/ops/forward/status")]
    assert json.loads(last[0].detail) == {"rows": len(Role)}


def test_a_refused_request_is_recorded_with_its_status(api, warehouse):
    bad = api.get("/api/reports/overview", params={"from": "yesterday"}, headers=_bearer(api, "marketer"))
    assert bad.status_code == 400
    last = list(warehouse.audit.entries())[-1]
    assert (last.actor, last.action, last.outcome, json.loads(last.detail)) == (
        "user:marketer", "report.read", "failure", {"status": 400})


def test_a_request_with_no_credential_writes_nothing(api, warehouse):
    before = len(list(warehouse.audit.entries()))
    assert api.get("/api/reports/overview").status_code == 401
    assert api.get("/api/ops/users").status_code == 401
    assert len(list(warehouse.audit.entries())) == before


def test_an_answer_the_audit_log_cannot_record_is_withheld(api, warehouse):
    demo.load(warehouse, 500, days=3, site="default", seed=1)
    headers = _bearer(api, "analyst")
    answered = api.get("/api/reports/pages", headers=headers)
    assert answered.status_code == 200 and answered.json()["data"][0]["path"].startswith("/")
    warehouse.client.command("RENAME TABLE audit_log TO audit_log_away")  # the audit log becomes unwritable
    try:
        withheld = api.get("/api/reports/pages", headers=headers)
        export = api.get("/api/reports/pages/csv", headers=headers)
        users = api.get("/api/ops/users", headers=OPS)
    finally:
        warehouse.client.command("RENAME TABLE audit_log_away TO audit_log")
    for response in (withheld, export, users):
        assert response.status_code == 503
        assert response.json()["detail"].startswith("the audit log cannot be written, so the answer is withheld")
    assert answered.json()["data"][0]["path"] not in withheld.text
