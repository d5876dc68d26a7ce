"""Signing in through the organisation's OpenID Connect provider (a real one on loopback): roles from its groups
read at each sign-in, each token taken once and only from that provider for Sluice, refusals audited."""

import base64
import json
import time

import httpx
import msgspec
import pytest
from argon2 import PasswordHasher, profiles
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey
from litestar.testing import TestClient

from api import internal_app
from api.accounts import GroupRole
from api.directory import LoginSettings
from api.openid import IdentityProvider, OidcSettings
from tests.conftest import PASSWORD
from tests.openid import CLIENT_ID, keys_we_hold, provider

ROLES = [GroupRole("sluice-admins", "admin"), GroupRole("sluice-analysts", "analyst")]


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    with provider(tmp_path_factory.mktemp("idp"), ["http://127.0.0.1/oauth2callback"], tls=True) as running:
        yield running


def _oidc(idp, **changes) -> OidcSettings:
    settings = {"issuer": idp.issuer, "client_id": CLIENT_ID, "client_secret_env": "UNUSED_BY_THE_API",
                "redirect_uri": "http://127.0.0.1/oauth2callback", "ca_file": str(idp.ca_file), "roles": ROLES}
    return OidcSettings(**settings | changes)


@pytest.fixture
def api(warehouse, idp):
    """A fresh API (its own limits and memory of used tokens) that trusts the provider."""
    opened = []

    def open_api(settings: OidcSettings | None = None) -> TestClient:
        app = internal_app(warehouse, "ops", hasher=PasswordHasher.from_parameters(profiles.CHEAPEST),
                           login=LoginSettings(oidc=settings or _oidc(idp)))
        opened.append(TestClient(app).__enter__())
        return opened[-1]

    yield open_api
    for client in opened:
        client.__exit__(None, None, None)


def _last_login(warehouse) -> dict:
    entries, _ = warehouse.audit.search(action="session.login", limit=1)
    return {"actor": entries[0].actor, "outcome": entries[0].outcome, **json.loads(entries[0].detail)}


def test_a_provider_user_gets_the_role_of_the_first_mapped_group_in_the_token(api, idp, warehouse):
    client = api()
    for login, role in [("ana", "analyst"), ("root", "admin")]:
        answer = client.post("/api/session/oidc", json={"id_token": idp.id_token(login)})
        assert answer.status_code == 201 and answer.json()["role"] == role, answer.text
        session = client.get("/api/session", headers={"authorization": f"Bearer {answer.json()['token']}"})
        assert session.json() == {"username": login, "role": role}
    assert _last_login(warehouse) == {"actor": "user:root", "outcome": "success", "source": "oidc", "subject": "root",
                                      "group": "sluice-admins", "role": "admin"}


def test_in_two_mapped_groups_the_first_configured_decides(api, idp):
    idp.set_groups("ana", ["sluice-analysts", "sluice-admins"])
    try:
        token = idp.id_token("ana")
    finally:
        idp.set_groups("ana", ["sluice-analysts"])
    client = api(_oidc(idp, roles=[GroupRole("sluice-analysts", "analyst"), GroupRole("sluice-admins", "admin")]))
    assert client.post("/api/session/oidc", json={"id_token": token}).json()["role"] == "analyst"
    assert api().post("/api/session/oidc", json={"id_token": token}).json()["role"] == "admin"


def test_a_change_of_groups_at_the_provider_counts_from_the_next_sign_in(api, idp):
    client = api()
    assert client.post("/api/session/oidc", json={"id_token": idp.id_token("ana")}).json()["role"] == "analyst"
    idp.set_groups("ana", ["sluice-admins"])
    try:
        token = idp.id_token("ana")
    finally:
        idp.set_groups("ana", ["sluice-analysts"])
    assert client.post("/api/session/oidc", json={"id_token": token}).json()["role"] == "admin"


def test_someone_in_no_mapped_group_gets_no_access_and_the_refusal_is_audited(api, idp, warehouse):
    answer = api().post("/api/session/oidc", json={"id_token": idp.id_token("nobody")})
    assert answer.status_code == 403 and "ask IT" in answer.json()["detail"]
    assert _last_login(warehouse) == {"actor": "user:nobody", "outcome": "failure", "source": "oidc",
                                      "subject": "nobody", "reason": "no mapped group", "status": 403}


def test_a_token_is_taken_once(api, idp):
    client, token = api(), idp.id_token("ana")
    assert client.post("/api/session/oidc", json={"id_token": token}).status_code == 201
    replayed = client.post("/api/session/oidc", json={"id_token": token})
    assert replayed.status_code == 401 and "used already" in replayed.json()["detail"]


def test_an_ecdsa_token_rewritten_with_the_other_valid_signature_is_still_the_same_sign_in(api, tmp_path):
    """An ECDSA signature (r, s) is as valid as (r, n - s): what is taken once is what the provider signed."""
    with provider(tmp_path, ["http://127.0.0.1/oauth2callback"], tls=True, signing="ES256") as es256:
        token = es256.id_token("root")
        client = api(_oidc(es256))
        assert client.post("/api/session/oidc", json={"id_token": token}).status_code == 201
    header, payload, signature = token.split(".")
    assert json.loads(_unb64(header))["alg"] == "ES256"
    r, s = _unb64(signature)[:32], int.from_bytes(_unb64(signature)[32:], "big")
    rewritten = f"{header}.{payload}.{_b64(r + (_P256_ORDER - s).to_bytes(32, 'big'))}"
    answer = client.post("/api/session/oidc", json={"id_token": rewritten})
    assert answer.status_code == 401 and "used already" in answer.json()["detail"]


def test_a_token_for_another_application_of_the_provider_is_refused(api, idp, warehouse):
    client = api(_oidc(idp, client_id="another-application"))
    answer = client.post("/api/session/oidc", json={"id_token": idp.id_token("root")})
    assert answer.status_code == 401
    assert _last_login(warehouse)["reason"] == "invalid token" and "aud" in _last_login(warehouse)["problem"]


def test_a_token_forged_with_a_key_of_ones_own_is_refused(api, idp, warehouse):
    """An attacker signs the claims an admin's token would carry, naming the provider's key id or none."""
    genuine = jwt.decode(idp.id_token("root"), _provider_keys(idp)).claims
    forger = RSAKey.generate_key(2048)
    for header in [{"alg": "RS256"}, {"alg": "RS256", "kid": _provider_key_id(idp)}]:
        forged = jwt.encode(header, genuine | {"iat": int(time.time())}, forger)
        answer = api().post("/api/session/oidc", json={"id_token": forged})
        assert answer.status_code == 401, answer.text
        assert _last_login(warehouse)["reason"] == "invalid token"


def test_an_unsigned_token_is_refused(api, idp):
    genuine = jwt.decode(idp.id_token("root"), _provider_keys(idp)).claims
    header, payload = (_b64(json.dumps(part).encode()) for part in ({"alg": "none"}, genuine))
    assert api().post("/api/session/oidc", json={"id_token": f"{header}.{payload}."}).status_code == 401


def test_a_token_issued_long_ago_is_refused(api, idp, warehouse):
    token, settings = idp.id_token("root"), _oidc(idp, max_age_seconds=30)
    issued = jwt.decode(token, _provider_keys(idp)).claims["iat"]
    client = api(settings)
    client.app.state.identity_provider = IdentityProvider(settings, clock=lambda: issued + 95)  # a minute and a half on
    answer = client.post("/api/session/oidc", json={"id_token": token})
    assert answer.status_code == 401 and "issued more than 30 s ago" in _last_login(warehouse)["problem"]


def test_a_provider_name_that_is_a_local_accounts_is_refused(api, idp, warehouse):
    """Break-glass accounts stay local: an `admin` at the provider does not sign in as Sluice's own `admin`."""
    client = api()
    if not client.app.state.accounts.has("admin"):
        client.app.state.accounts.add("admin", "admin", PASSWORD, "test")
    answer = client.post("/api/session/oidc", json={"id_token": idp.id_token("admin")})
    assert answer.status_code == 403 and "local Sluice account" in answer.json()["detail"]
    assert _last_login(warehouse)["reason"] == "name of a local account"


def test_a_provider_that_does_not_answer_is_a_503(api, idp, warehouse):
    token = idp.id_token("ana")
    client = api(_oidc(idp, issuer="https://127.0.0.1:9"))
    answer = client.post("/api/session/oidc", json={"id_token": token})
    assert answer.status_code == 503 and _last_login(warehouse)["reason"] == "provider unreachable"


def test_without_single_sign_on_set_up_the_route_says_so(warehouse):
    app = internal_app(warehouse, "ops", hasher=PasswordHasher.from_parameters(profiles.CHEAPEST))
    with TestClient(app) as client:
        answer = client.post("/api/session/oidc", json={"id_token": "x"})
    assert answer.status_code == 404 and "not set up" in answer.json()["detail"]


@pytest.mark.parametrize("settings, problem", [
    ({"issuer": "http://idp.example.org"}, "use https://"),
    ({"scopes": ["profile"]}, "include openid"),
    ({"roles": []}, "map at least one group"),
    ({"redirect_uri": "https://sluice.example.org/"}, "redirect_uri"),
    ({"redirect_uri": "http://sluice.example.org/oauth2callback"}, "redirect_uri: use https"),
])
def test_settings_that_cannot_work_are_refused_with_the_reason(settings, problem):
    base = {"issuer": "https://idp.example.org", "client_id": "c", "client_secret_env": "S",
            "redirect_uri": "https://sluice.example.org/oauth2callback", "roles": [{"group": "g", "role": "admin"}]}
    with pytest.raises(msgspec.ValidationError, match=problem):
        msgspec.convert(base | settings, OidcSettings)


def _provider_keys(idp):
    with httpx.Client(verify=idp.verify) as http:
        discovery = http.get(f"{idp.issuer}/.well-known/openid-configuration").json()
        return KeySet.import_key_set(http.get(discovery["jwks_uri"]).json())


def _provider_key_id(idp) -> str:
    return _provider_keys(idp).keys[0].kid


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
def held(api):
    """A provider whose key the test holds, and an API that trusts it."""
    with keys_we_hold() as keys:
        settings = OidcSettings(issuer=keys.issuer, client_id=CLIENT_ID, client_secret_env="UNUSED",
                                redirect_uri="http://127.0.0.1/oauth2callback", roles=ROLES)
        yield keys, api(settings)


def _sign_in(client, token: str):
    return client.post("/api/session/oidc", json={"id_token": token})


@pytest.mark.parametrize("name", ["\u0430dmin", "ana\nuser:admin", "\u200b", "", "a" * 200, ["admin"]])
def test_a_name_that_could_pass_for_another_or_forge_a_log_line_is_refused(held, warehouse, name):
    """Cyrillic а, a line break, an invisible name, none, a very long one, a list: only plain ASCII names."""
    keys, client = held
    answer = _sign_in(client, keys.token(preferred_username=name))
    assert answer.status_code == 403 and "not one Sluice takes" in answer.json()["detail"], answer.text
    assert _last_login(warehouse)["reason"] == "name not taken"


def test_a_name_from_the_provider_is_taken_without_case_or_width(held):
    keys, client = held
    answer = _sign_in(client, keys.token(preferred_username="\uff21na@Example-Hospital.org"))  # a full-width A
    assert answer.status_code == 201 and answer.json()["username"] == "ana@example-hospital.org"


@pytest.mark.parametrize("claims, problem", [
    ({"azp": "another-application"}, "azp"),
    ({"aud": [CLIENT_ID, "another-application"]}, "no azp"),
    ({"exp": None}, "exp"),
    ({"iat": int(time.time()) + 3600}, "issued in the future"),
])
def test_claims_that_do_not_make_a_sign_in_for_sluice_are_refused(held, warehouse, claims, problem):
    keys, client = held
    assert _sign_in(client, keys.token(**claims)).status_code == 401
    assert problem in _last_login(warehouse)["problem"]


def test_a_token_signed_with_a_shared_secret_is_refused_even_with_the_providers_public_key_as_secret(held):
    keys, client = held
    public = json.dumps(keys.key.as_dict(private=False)).encode()
    forged = jwt.encode({"alg": "HS256", "kid": "held"}, jwt.decode(keys.token(), keys.key).claims,
                        OctKey.import_key(public))
    assert _sign_in(client, forged).status_code == 401


@pytest.mark.parametrize("path, document, problem", [
    ("/.well-known/openid-configuration", {"issuer": "https://idp.example.org", "jwks_uri": "x"}, "names issuer"),
    ("/.well-known/openid-configuration", "[1]", "JSON object"),
    ("/.well-known/openid-configuration", "not json", "does not answer JSON"),
    ("/jwks", {}, "keys cannot be read"),
    ("/jwks", {"keys": [1]}, "keys cannot be read"),
])
def test_a_provider_whose_documents_do_not_fit_is_a_503_with_the_reason_audited(held, warehouse, path, document,
                                                                                problem):
    keys, client = held
    keys.documents[path] = document
    answer = _sign_in(client, keys.token())
    assert answer.status_code == 503 and "ask IT" in answer.json()["detail"]
    assert _last_login(warehouse)["reason"] == "provider misconfigured" and problem in _last_login(warehouse)["problem"]


def test_keys_published_over_plain_http_elsewhere_are_refused(held, warehouse):
    keys, client = held
    keys.documents["/.well-known/openid-configuration"]["jwks_uri"] = "http://idp.example.org/jwks"
    assert _sign_in(client, keys.token()).status_code == 503
    assert "https://" in _last_login(warehouse)["problem"]


def test_tokens_naming_unknown_keys_fetch_the_keys_again_at_most_once_a_minute(held):
    """A rotation at the provider is picked up; a flood of made-up key ids does not become a flood of fetches."""
    keys, client = held
    assert _sign_in(client, keys.token()).status_code == 201
    fetched = len(keys.fetches)
    for n in range(10):
        assert _sign_in(client, keys.token(header={"alg": "RS256", "kid": f"made-up-{n}"})).status_code == 401
    assert len(keys.fetches) - fetched <= 2  # the discovery document and the keys, once
    assert _sign_in(client, keys.token()).status_code == 201  # the known key still signs people in
