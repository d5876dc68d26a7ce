"""A real OpenID Connect provider on loopback (panva's `oidc-provider` on Node, in `tests/oidc`), as a
hospital's Entra ID, Okta or Keycloak: people with passwords and groups, PKCE required, its own login page."""

import base64
import hashlib
import json
import re
import secrets
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import trustme
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from tests.conftest import unused_port
from tests.syslog import wait_for_port

PROJECT = Path(__file__).parent / "oidc"
CLIENT_ID, CLIENT_SECRET = "sluice-dashboard", "provider-issued-client-secret"
PEOPLE = {"ana": {"password": "ana-Provider-pw1", "name": "Ana", "groups": ["sluice-analysts"]},
          "root": {"password": "root-Provider-pw2", "name": "Root", "groups": ["staff", "sluice-admins"]},
          "nobody": {"password": "nobody-Provider-pw3", "name": "Nobody", "groups": ["staff"]},
          "admin": {"password": "admin-Provider-pw4", "name": "Not the local admin", "groups": ["sluice-admins"]},
          "zoë": {"password": "zoe-Provider-pw5", "name": "Zoë", "groups": ["sluice-analysts"]}}


class Provider:
    def __init__(self, issuer: str, people: Path, ca: trustme.CA | None, ca_file: Path | None) -> None:
        self.issuer, self.ca, self.ca_file = issuer, ca, ca_file
        self._people = people

    @property
    def verify(self) -> ssl.SSLContext | bool:
        return ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else True

    def set_groups(self, login: str, groups: list[str]) -> None:
        """Move someone to other groups at the provider: it counts from their next sign-in."""
        people = json.loads(self._people.read_text())
        people[login]["groups"] = groups
        self._people.write_text(json.dumps(people))

    def id_token(self, login: str, redirect_uri: str = "http://127.0.0.1/oauth2callback") -> str:
        """Sign in as `login` through the provider's own login page, as a relying party does (code flow, PKCE)."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        with httpx.Client(base_url=self.issuer, verify=self.verify) as http:
            request = {"client_id": CLIENT_ID, "response_type": "code", "scope": "openid profile groups",
                       "redirect_uri": redirect_uri, "state": "s", "nonce": "n", "code_challenge": challenge,
                       "code_challenge_method": "S256"}
            page = http.get("/auth", params=request, follow_redirects=True)
            action = re.search(r'action="([^"]+)"', page.text).group(1)
            done = http.post(action, data={"prompt": "login", "login": login, "password": PEOPLE[login]["password"]},
                             follow_redirects=False)
            while "code=" not in done.headers.get("location", ""):
                done = http.get(done.headers["location"], follow_redirects=False)
            code = parse_qs(urlsplit(done.headers["location"]).query)["code"][0]
            tokens = http.post("/token", auth=(CLIENT_ID, CLIENT_SECRET),
                               data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                                     "code_verifier": verifier})
            tokens.raise_for_status()
            return tokens.json()["id_token"]


def _node_modules() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the OpenID Connect provider of these tests runs on it")
    major = int(subprocess.run([node, "--version"], capture_output=True, text=True).stdout.lstrip("v").split(".")[0])
    if major < 20:
        pytest.skip(f"Node.js {major} is too old for the tests' OpenID Connect provider (oidc-provider 9 needs 20+)")
    if not (PROJECT / "node_modules" / "oidc-provider").is_dir():
        pytest.skip("the test OpenID Connect provider is not installed: npm ci --prefix tests/oidc")


@contextmanager
def provider(directory: Path, redirect_uris: list[str], tls: bool = False,
             signing: str = "RS256") -> Iterator[Provider]:
    """The provider, in the foreground on a port of its own; over HTTPS with a CA made here with `tls`; signing
    ID tokens with `signing` (RS256, or ES256 with a P-256 key made here)."""
    _node_modules()
    port = unused_port()
    people = directory / "people.json"
    people.write_text(json.dumps(PEOPLE))
    client = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": redirect_uris,
              "post_logout_redirect_uris": redirect_uris, "response_types": ["code"],
              "grant_types": ["authorization_code"], "id_token_signed_response_alg": signing}
    settings = {"port": port, "people": str(people), "clients": [client]}
    if signing == "ES256":  # the provider needs an RS256 key beside it, whatever it signs with
        keys = [RSAKey.generate_key(2048, {"kid": "rsa", "use": "sig", "alg": "RS256"}, private=True),
                ECKey.generate_key("P-256", {"kid": "ec", "use": "sig", "alg": "ES256"}, private=True)]
        settings["jwks"] = {"keys": [key.as_dict(private=True) for key in keys]}
    ca = ca_file = None
    if tls:
        ca, ca_file = trustme.CA(), directory / "ca.crt"
        issued = ca.issue_cert("127.0.0.1", "localhost")
        issued.cert_chain_pems[0].write_to_path(str(directory / "idp.crt"))
        issued.private_key_pem.write_to_path(str(directory / "idp.key"))
        ca.cert_pem.write_to_path(str(ca_file))
        settings |= {"cert": str(directory / "idp.crt"), "key": str(directory / "idp.key")}
    issuer = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    (directory / "provider.json").write_text(json.dumps(settings | {"issuer": issuer}))
    (directory / "provider.json").chmod(0o600)  # it holds the signing keys
    process = subprocess.Popen(["node", str(PROJECT / "provider.mjs"), str(directory / "provider.json")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port, process)
        yield Provider(issuer, people, ca, ca_file)
    finally:
        process.terminate()
        process.wait(timeout=10)


class KeysWeHold:
    """A provider whose signing key the test holds: its discovery document and keys served on loopback, as the
    test sets them, so a test can sign any token (what no real provider would issue) and count fetches."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.key = RSAKey.generate_key(2048, {"kid": "held", "use": "sig", "alg": "RS256"}, private=True)
        self.documents: dict[str, Any] = {
            "/.well-known/openid-configuration": {"issuer": issuer, "jwks_uri": f"{issuer}/jwks"},
            "/jwks": {"keys": [self.key.as_dict(private=False)]}}
        self.fetches: list[str] = []

    def token(self, header: dict[str, Any] | None = None, **claims: Any) -> str:
        """An ID token signed with the held key: a valid one for `client_id` unless `claims` say otherwise."""
        now = int(time.time())
        defaults = {"iss": self.issuer, "aud": CLIENT_ID, "sub": "s-1", "iat": now, "exp": now + 300,
                    "preferred_username": "ana", "groups": ["sluice-analysts"], "nonce": secrets.token_hex(8)}
        return jwt.encode(header or {"alg": "RS256", "kid": "held"}, {k: v for k, v in (defaults | claims).items()
                                                                        if v is not None}, self.key)


@contextmanager
def keys_we_hold() -> Iterator[KeysWeHold]:
    port = unused_port()
    held = KeysWeHold(f"http://127.0.0.1:{port}")

    class Documents(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            held.fetches.append(self.path)
            document = held.documents.get(self.path)
            body = document.encode() if isinstance(document, str) else json.dumps(document).encode()
            self.send_response(200 if document is not None else 404)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Documents)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield held
    finally:
        server.shutdown()
        server.server_close()
