"""Logging in to the internal API, sessions, lockout and the role matrix."""

import base64
import uuid
from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher, profiles
from litestar.testing import TestClient

from api import internal_app
from api.accounts import Role
from api.logins import ABSOLUTE_SECONDS, IDLE_SECONDS, LoginSessions, Throttle

OPS = {"authorization": "Bearer ops", "sluice-actor": "root"}
PASSWORD = "violet-Harbor-93-kite"
OUTSIDER, ADMINS_DESK = "203.0.113.9", "10.20.30.40"


@pytest.fixture
def api(warehouse):
    app = internal_app(warehouse, "ops", ["default"], hasher=PasswordHasher.from_parameters(profiles.CHEAPEST))
    with TestClient(app) as client:
        for role in Role:
            client.post("/api/ops/users", json={"username": role.value, "role": role.value, "password": PASSWORD},
                        headers=OPS).raise_for_status()
        yield client


def _login(api, username: str, password: str = PASSWORD):
    return api.post("/api/session", json={"username": username, "password": password})


def _bearer(api, username: str) -> dict[str, str]:
    return {"authorization": f"Bearer {_login(api, username).json()['token']}"}


def test_logging_in_returns_a_token_for_that_user_and_role(api):
    opened = _login(api, "analyst")
    assert opened.status_code == 201
    body = opened.json()
    assert (body["username"], body["role"], body["idle_seconds"], body["absolute_seconds"]) == (
        "analyst", "analyst", 1800, 43200)
    me = api.get("/api/session", headers={"authorization": f"Bearer {body['token']}"})
    assert me.json() == {"username": "analyst", "role": "analyst"}


def test_an_unknown_user_and_a_wrong_password_get_the_same_answer(api):
    unknown, wrong = _login(api, "nobody"), _login(api, "admin", PASSWORD + "!")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json() == {"status_code": 401, "detail": "wrong username or password"}


def test_five_failures_lock_the_name_and_the_lock_is_audited(api, warehouse):
    answers = [_login(api, "marketer", "wrong password!!").status_code for _ in range(5)]
    locked = _login(api, "marketer")  # even the right password waits now
    assert answers == [401] * 5
    assert locked.status_code == 429 and 800 < int(locked.headers["retry-after"]) <= 901
    actions = [(e.action, e.outcome) for e in warehouse.audit.entries() if e.actor == "user:marketer"]
    assert actions.count(("session.login", "failure")) == 5 and ("session.lockout", "denied") in actions
    _login(api, "marketer")
    assert [(e.action, e.outcome) for e in warehouse.audit.entries()][-1] == ("session.login", "denied")


def test_parallel_guesses_cannot_pass_the_limit():
    throttle = Throttle()
    answers = [throttle.attempt("alice", OUTSIDER) for _ in range(20)]
    assert answers[:5] == [0] * 5 and all(wait > 0 for wait in answers[5:])


def test_guesses_from_one_address_do_not_lock_the_name_for_another():
    throttle = Throttle()
    for _ in range(6):
        throttle.attempt("admin", OUTSIDER)
    assert throttle.locked("admin", OUTSIDER)
    assert not throttle.locked("admin", ADMINS_DESK) and throttle.attempt("admin", ADMINS_DESK) == 0
    for host in range(6):  # IPv6 addresses of one subscriber's /64 are one client
        throttle.attempt("admin", f"2001:db8:1:2::{host + 1}")
    assert throttle.locked("admin", "2001:db8:1:2::ffff")


def test_each_lock_of_a_name_and_address_lasts_twice_as_long_as_the_one_before_up_to_a_day():
    now = [0.0]
    throttle = Throttle(clock=lambda: now[0])
    locks = []
    for _ in range(9):
        for _ in range(5):
            throttle.attempt("alice", OUTSIDER)
        locks.append(throttle.attempt("alice", OUTSIDER))
        now[0] += locks[-1] + 1
    assert locks[:4] == [15 * 60, 30 * 60, 60 * 60, 120 * 60] and locks[-1] == 24 * 3600
    throttle.succeeded("alice", OUTSIDER)  # the right password: the next lock is a short one again
    for _ in range(6):
        wait = throttle.attempt("alice", OUTSIDER)
    assert wait == 15 * 60


def test_logging_out_revokes_the_token(api, warehouse):
    headers = _bearer(api, "compliance")
    assert api.delete("/api/session", headers=headers).status_code == 204
    assert api.get("/api/session", headers=headers).status_code == 401
    assert [e.action for e in warehouse.audit.entries()][-2:] == ["session.login", "session.logout"]


def test_disabling_a_user_ends_their_sessions(api):
    marketer = _bearer(api, "marketer")
    changed = api.patch("/api/users/marketer", json={"disabled": True}, headers=_bearer(api, "admin"))
    assert changed.json()["disabled"] is True
    assert api.get("/api/session", headers=marketer).status_code == 401
    assert _login(api, "marketer").status_code == 401


DASHBOARD_KEY = b"the dashboard key of the tests!!"


@pytest.fixture
def behind_dashboard(warehouse):
    """The API as `sluice up` runs it: logins that show the dashboard key may name the browser's address."""
    app = internal_app(warehouse, "ops", ["default"], hasher=PasswordHasher.from_parameters(profiles.CHEAPEST),
                       dashboard_key=DASHBOARD_KEY)
    with TestClient(app) as client:
        client.post("/api/ops/users", json={"username": "marketer", "role": "marketer", "password": PASSWORD},
                    headers=OPS).raise_for_status()
        yield client


def _from(api, browser: str, key: bytes, password: str = "wrong password!!"):
    headers = {"sluice-client-ip": browser, "sluice-dashboard-key": base64.b64encode(key).decode()}
    return api.post("/api/session", json={"username": "marketer", "password": password}, headers=headers)


def test_logins_through_the_dashboard_are_limited_and_audited_per_browser(behind_dashboard, warehouse):
    assert [_from(behind_dashboard, OUTSIDER, DASHBOARD_KEY).status_code for _ in range(6)] == [401] * 5 + [429]
    assert _from(behind_dashboard, ADMINS_DESK, DASHBOARD_KEY, PASSWORD).status_code == 201  # another browser
    logins = [e for e in warehouse.audit.entries() if e.action.startswith("session.")]
    assert {e.resource for e in logins} == {OUTSIDER, ADMINS_DESK}


@pytest.mark.parametrize("key", [b"", b"a guessed key, 32 bytes as well!"])
def test_a_forwarded_address_without_the_dashboard_key_is_ignored(behind_dashboard, warehouse, key):
    # Someone who reaches the API rotates the address they claim: it is their own address that locks.
    answers = [_from(behind_dashboard, f"198.51.100.{n}", key).status_code for n in range(6)]
    assert answers == [401] * 5 + [429]
    assert {e.resource for e in warehouse.audit.entries() if e.action.startswith("session.")} == {"testclient"}


def test_a_refusal_by_role_is_audited(api, warehouse):
    assert api.get("/api/audit", headers=_bearer(api, "marketer")).status_code == 403
    last = list(warehouse.audit.entries())[-1]
    assert (last.actor, last.action, last.resource, last.outcome) == ("user:marketer", "audit.read", "/api/audit",
                                                                      "denied")
    assert last.detail == '{"status":403}'


def test_a_weak_password_is_refused_with_the_rule(api):
    refused = api.post("/api/users", json={"username": "carol", "role": "marketer", "password": "password1234"},
                       headers=_bearer(api, "admin"))
    assert refused.status_code == 400 and "common or easy to guess" in refused.json()["detail"]


NEW_USER = {"username": "newbie", "role": "marketer", "password": "amber-Glacier-27-fern"}
EVERYONE = (401, 200, 200, 200, 200)
OPS_ONLY = (401, 401, 401, 401, 401)  # the ops token, never a session
# (method, route, concrete path, body, answers to: anonymous, marketer, analyst, compliance, admin)
MATRIX = [
    ("GET", "/api/session", "/api/session", None, EVERYONE),
    ("DELETE", "/api/session", "/api/session", None, (401, 204, 204, 204, 204)),
    ("POST", "/api/session", "/api/session", {"username": "x", "password": "y"}, (401,) * 5),  # wrong login
    ("POST", "/api/session/oidc", "/api/session/oidc", {"id_token": "x"}, (404,) * 5),  # no provider set up
    ("GET", "/api/users", "/api/users", None, (401, 403, 403, 403, 200)),
    ("POST", "/api/users", "/api/users", NEW_USER, (401, 403, 403, 403, 201)),
    ("PATCH", "/api/users/{username:str}", "/api/users/analyst", {"role": "analyst"}, (401, 403, 403, 403, 200)),
    ("GET", "/api/audit", "/api/audit", None, (401, 403, 403, 200, 200)),
    ("GET", "/api/outbox", "/api/outbox", None, (401, 403, 403, 200, 200)),
    ("GET", "/api/trackers", "/api/trackers", None, (401, 403, 403, 200, 200)),
    ("GET", "/api/dimension-values", "/api/dimension-values", None, (401, 403, 403, 403, 200)),
    ("GET", "/api/reports/{name:str}", "/api/reports/overview", None, EVERYONE),
    ("GET", "/api/reports/{name:str}/csv", "/api/reports/pages/csv", None, EVERYONE),
    ("GET", "/api/reports/funnel", "/api/reports/funnel?step=/a&step=b", None, EVERYONE),
    ("GET", "/api/reports/realtime", "/api/reports/realtime", None, EVERYONE),
    ("GET", "/api/events", "/api/events", None, (401, 403, 200, 403, 200)),
    ("GET", "/api/annotations", "/api/annotations", None, EVERYONE),
    ("POST", "/api/annotations", "/api/annotations", {"day": str(datetime.now(UTC).date()), "text": "Matrix"},
     (401, 201, 201, 403, 201)),
    ("DELETE", "/api/annotations/{annotation_id:uuid}", f"/api/annotations/{uuid.UUID(int=1)}", None,
     (401, 404, 404, 403, 404)),
    ("GET", "/api/views", "/api/views", None, EVERYONE),
    ("PUT", "/api/views/{name:path}", "/api/views/Matrix", {"days": 7}, EVERYONE),
    ("DELETE", "/api/views/{name:path}", "/api/views/None saved", None, (401, 404, 404, 404, 404)),
    ("GET", "/api/goals", "/api/goals", None, EVERYONE),
    ("POST", "/api/goals", "/api/goals", {"name": "Matrix", "event": "phone_click"}, (401, 403, 201, 403, 201)),
    ("DELETE", "/api/goals/{goal_id:uuid}", f"/api/goals/{uuid.UUID(int=1)}", None, (401, 403, 404, 403, 404)),
    ("GET", "/api/reports/goals", "/api/reports/goals", None, EVERYONE),
    ("GET", "/api/reports/properties", "/api/reports/properties?event=phone_click", None, EVERYONE),
    ("POST", "/api/ops/migrate", "/api/ops/migrate", None, OPS_ONLY),
    ("POST", "/api/ops/audit/verify", "/api/ops/audit/verify", None, OPS_ONLY),
    ("POST", "/api/ops/forward/run", "/api/ops/forward/run", {"dry_run": True}, OPS_ONLY),
    ("GET", "/api/ops/forward/status", "/api/ops/forward/status", None, OPS_ONLY),
    ("POST", "/api/ops/scans", "/api/ops/scans", {}, OPS_ONLY),
    ("POST", "/api/ops/backup", "/api/ops/backup", {"destination": "/nonexistent/backup"}, OPS_ONLY),
    ("POST", "/api/ops/demo/seed", "/api/ops/demo/seed", {"events": 1}, OPS_ONLY),
    ("GET", "/api/ops/users", "/api/ops/users", None, OPS_ONLY),
    ("POST", "/api/ops/users", "/api/ops/users", NEW_USER, OPS_ONLY),
    ("PATCH", "/api/ops/users/{username:str}", "/api/ops/users/analyst", {"role": "analyst"}, OPS_ONLY),
]


def test_the_matrix_covers_every_api_endpoint(warehouse):
    app = internal_app(warehouse, "ops", ["default"], hasher=PasswordHasher.from_parameters(profiles.CHEAPEST))
    routes = {(method, route.path) for route in app.routes if route.path.startswith("/api/")
              and not route.path.startswith("/api/schema") for method in route.methods - {"OPTIONS", "HEAD"}}
    assert routes == {(method, route) for method, route, *_ in MATRIX}


@pytest.mark.parametrize(("method", "route", "path", "body", "expected"), MATRIX)
def test_role_matrix(api, method, route, path, body, expected):
    who = [None, "marketer", "analyst", "compliance", "admin"]
    got = []
    for user in who:
        headers = _bearer(api, user) if user else {}
        answer = api.request(method, path, json=body, headers=headers)
        got.append(answer.status_code)
        if method == "POST" and answer.status_code == 201 and path == "/api/users":  # the next role adds it again
            api.patch("/api/users/newbie", json={"disabled": True}, headers=_bearer(api, "admin"))
        if method == "POST" and answer.status_code == 201 and path == "/api/goals":
            api.delete(f"/api/goals/{answer.json()['goal_id']}", headers=_bearer(api, "admin"))
    assert tuple(got) == expected


def test_sessions_end_after_30_idle_minutes_or_12_hours():
    now = [0.0]
    sessions = LoginSessions(clock=lambda: now[0])
    idle, busy = sessions.open("a", "admin"), sessions.open("b", "admin")
    now[0] = IDLE_SECONDS - 1
    assert sessions.find(idle) and sessions.find(busy)
    now[0] = 2 * IDLE_SECONDS - 1
    assert sessions.find(idle)  # still in use: the idle timer restarted
    now[0] = 3 * IDLE_SECONDS
    assert sessions.find(idle) is None
    for minute in range(1, ABSOLUTE_SECONDS // 600 + 2):
        now[0] = minute * 600.0
        alive = sessions.find(busy)
    assert alive is None  # active all along, but past 12 hours


def test_a_lock_lasts_15_minutes_from_when_it_began():
    now = [0.0]
    throttle = Throttle(clock=lambda: now[0])
    for minute in range(6):  # five failures spread over five minutes, then the sixth attempt
        now[0] = minute * 60.0
        throttle.attempt("alice", OUTSIDER)
    assert throttle.locked("alice", OUTSIDER)
    now[0] = 5 * 60 + 15 * 60 - 1
    assert throttle.locked("alice", OUTSIDER)
    now[0] = 5 * 60 + 15 * 60 + 1
    assert throttle.attempt("alice", OUTSIDER) == 0


def test_compliance_reads_the_audit_log_filtered_and_paged(api):
    headers = _bearer(api, "compliance")
    _login(api, "nobody")  # a failure to find
    failures = api.get("/api/audit", params={"action": "session.login", "outcome": "failure", "actor": "user:nobody"},
                       headers=headers).json()
    assert failures["total"] >= 1 and all(e["outcome"] == "failure" for e in failures["entries"])
    first = api.get("/api/audit", params={"page_size": 2}, headers=headers).json()
    second = api.get("/api/audit", params={"page_size": 2, "page": 2}, headers=headers).json()
    assert len(first["entries"]) == 2 and first["entries"][0]["seq"] > second["entries"][0]["seq"]
    assert api.get("/api/audit", params={"page_size": 10_000}, headers=headers).status_code == 400
    mixed = {"since": "2026-01-02T00:00:00", "until": "2026-01-01T00:00:00Z"}  # one with a zone, one without
    assert api.get("/api/audit", params=mixed, headers=headers).status_code == 400
    latest = api.get("/api/audit", params={"page_size": 1}, headers=headers).json()["entries"][0]
    assert latest["action"] == "audit.read" and latest["actor"] == "user:compliance"  # reading is audited too


def test_a_change_that_breaks_a_rule_changes_nothing(api):
    admin = _bearer(api, "admin")
    refused = api.patch("/api/users/analyst", json={"role": "admin", "password": "short"}, headers=admin)
    assert refused.status_code == 400
    assert {u["username"]: u["role"] for u in api.get("/api/users", headers=admin).json()}["analyst"] == "analyst"


def test_admins_cannot_change_themselves_nor_remove_the_last_admin(api):
    admin = _bearer(api, "admin")
    assert api.patch("/api/users/admin", json={"disabled": True}, headers=admin).status_code == 403
    last = api.patch("/api/ops/users/admin", json={"role": "marketer"}, headers=OPS)
    assert last.status_code == 409 and "no enabled admin" in last.json()["detail"]


def test_logins_from_one_ipv6_subscriber_count_together_whatever_address_they_rotate_to():
    from api.logins import AddressLimit

    limit = AddressLimit("3/minute")
    waits = [limit.retry_after(f"2001:db8:1:2::{n:x}") for n in range(4)]
    assert waits[:3] == [0, 0, 0] and waits[3] > 0
    assert limit.retry_after("2001:db8:1:3::1") == 0 and limit.retry_after("192.0.2.1") == 0
