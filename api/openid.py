"""Logins through the organisation's OpenID Connect provider (Entra ID, Okta, Keycloak…), roles from its groups.

The dashboard runs the browser's part of the flow (authorization code with PKCE, state and nonce; Streamlit's
`st.login`, built on Authlib) and hands the ID token it received here. This checks it again on its own: the
signature with the provider's published keys, issuer, audience, expiry, that it was issued moments ago and is
used once. The role is that of the first configured group that the token's groups claim holds, read at each
sign-in.
"""

import hashlib
import ipaddress
import os
import re
import ssl
import threading
import time
import unicodedata
from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import httpx
import msgspec
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from api.accounts import GroupRole, Role
from api.errors import ApiError

_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
"""Signatures with the provider's public keys only: never `none`, never a shared secret."""
_LEEWAY_SECONDS = 60
_KEYS_REFETCH_SECONDS = 60
"""A token signed with a key not seen yet fetches the provider's keys again, at most this often (key rotation)."""
_KEYS_RETRY_SECONDS = 5
"""After a failed fetch of the keys, sign-ins fail at once for this long rather than each waiting on the provider."""
_NAME = re.compile(r"^[a-z0-9][a-z0-9._@+-]{0,127}$")
"""A name from the provider, once normalised: ASCII only, so that no look-alike letter imitates another's name."""


class OidcSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """`[login.oidc]`: the identity provider, the dashboard's registration there, and which groups give which role."""

    issuer: Annotated[str, msgspec.Meta(pattern=r"^https?://\S+$",
                                        description="the provider's issuer URL; its discovery document is under it")]
    client_id: Annotated[str, msgspec.Meta(min_length=1)]
    client_secret_env: Annotated[str, msgspec.Meta(min_length=1, description="the variable holding the client secret")]
    redirect_uri: Annotated[str, msgspec.Meta(pattern=r"^https?://\S+/oauth2callback$",
                                              description="the dashboard's own address with /oauth2callback")]
    label: str = "single sign-on"
    """What the dashboard's sign-in button says: "Sign in with <label>"."""
    scopes: list[str] = msgspec.field(default_factory=lambda: ["openid", "profile"])
    """What the dashboard asks for: some providers send groups only for a scope of their own (Okta: `groups`)."""
    prompt: Literal["login", "select_account", "consent"] = "login"
    """What the provider is asked to show: "login" asks for the password each time (a shared workstation's last
    user is not signed in again silently)."""
    username_claim: str = "preferred_username"
    groups_claim: str = "groups"
    ca_file: str = ""
    """The CA that signed the provider's certificate; empty: the system's CAs."""
    roles: list[GroupRole]
    """In order: the first of these groups that the token's groups claim holds decides the role."""
    max_age_seconds: Annotated[int, msgspec.Meta(ge=30, le=3600)] = 300
    """A token issued longer ago than this (and a minute's leeway for clocks) is refused: its login is over."""
    timeout_seconds: Annotated[int, msgspec.Meta(ge=1, le=60)] = 5

    def __post_init__(self) -> None:
        if not _secure(self.issuer):
            raise ValueError("issuer: use https:// (plain http only on this machine's loopback)")
        if not _secure(self.redirect_uri):
            raise ValueError("redirect_uri: use https:// (plain http only on this machine's loopback): the "
                             "provider sends the sign-in's code there")
        if "openid" not in self.scopes:
            raise ValueError("scopes: include openid, or the provider sends no ID token")
        if not self.roles:
            raise ValueError("roles: map at least one group to a role, or nobody can sign in through the provider")
        if self.ca_file and not os.path.isfile(self.ca_file):
            raise ValueError(f"ca_file: no readable file at {self.ca_file}")

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"


class ProviderLogin(msgspec.Struct, frozen=True):
    """How a sign-in came out: who, the role it gets (none if refused), and why, for the audit log."""

    username: str
    role: Role | None
    reason: Literal["granted", "invalid token", "token used already", "no mapped group", "provider unreachable",
                    "provider misconfigured", "name of a local account", "name not taken"]
    group: str = ""
    subject: str = ""
    """The token's `sub`: who the provider says this is, whatever the name."""
    problem: str = ""
    """What was wrong with a refused token, for the audit log."""


class _Misconfigured(ApiError):
    """The provider's discovery document or keys are not what OpenID Connect and this config say they are."""

    status_code = 503


class IdentityProvider:
    """Checks ID tokens from the configured provider and maps their groups to a role."""

    def __init__(self, settings: OidcSettings, clock: Callable[[], float] = time.time) -> None:
        self._settings, self._clock = settings, clock
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=settings.ca_file or None)
        self._http = httpx.Client(timeout=settings.timeout_seconds, verify=verify, follow_redirects=False,
                                  trust_env=False)
        self._keys: KeySet | None = None
        self._keys_at, self._keys_failed = 0.0, False
        self._keys_lock, self._used_lock = threading.Lock(), threading.Lock()
        self._used: dict[str, float] = {}

    def log_in(self, id_token: str) -> ProviderLogin:
        try:
            claims = self._verified(id_token)
        except httpx.HTTPError as exc:
            return ProviderLogin("", None, "provider unreachable", problem=type(exc).__name__)
        except _Misconfigured as exc:
            return ProviderLogin("", None, "provider misconfigured", problem=exc.detail[:300])
        except (JoseError, ValueError) as exc:
            return ProviderLogin("", None, "invalid token", problem=(str(exc) or type(exc).__name__)[:300])
        subject, username = str(claims["sub"])[:256], self._username(claims)
        if not username:
            problem = (f"the {self._settings.username_claim} claim is no name Sluice takes "
                       "(ASCII letters, digits, . _ - @ +)")
            return ProviderLogin("", None, "name not taken", subject=subject, problem=problem)
        usable_until = min(claims["exp"], claims["iat"] + self._settings.max_age_seconds) + _LEEWAY_SECONDS
        # ECDSA signatures can be rewritten and stay valid: what was signed is what is taken once.
        if not self._first_use(id_token.rpartition(".")[0], usable_until):
            return ProviderLogin(username, None, "token used already", subject=subject)
        mapping = self._mapping(claims)
        if mapping is None:
            return ProviderLogin(username, None, "no mapped group", subject=subject)
        return ProviderLogin(username, mapping.role, "granted", mapping.group, subject=subject)

    def _username(self, claims: dict[str, Any]) -> str:
        """The name claim without case or width, if it is a name Sluice takes; else empty."""
        named = claims.get(self._settings.username_claim)
        username = unicodedata.normalize("NFKC", named).strip().casefold() if isinstance(named, str) else ""
        return username if _NAME.match(username) else ""

    def _mapping(self, claims: dict[str, Any]) -> GroupRole | None:
        """The first configured group that the groups claim holds (a single group may come as a string)."""
        groups = claims.get(self._settings.groups_claim) or []
        member = {str(group).lower() for group in (groups if isinstance(groups, list) else [groups])}
        return next((mapping for mapping in self._settings.roles if mapping.group.lower() in member), None)

    def _verified(self, id_token: str) -> dict[str, Any]:
        settings = self._settings
        token = jwt.decode(id_token, self._key_set(_key_id(id_token)), algorithms=_ALGORITHMS)
        now = int(self._clock())
        jwt.JWTClaimsRegistry(
            now=now, leeway=_LEEWAY_SECONDS,
            iss={"essential": True, "value": settings.issuer},
            aud={"essential": True, "value": settings.client_id},
            exp={"essential": True}, iat={"essential": True}, sub={"essential": True},
        ).validate(token.claims)
        if now - token.claims["iat"] > settings.max_age_seconds + _LEEWAY_SECONDS:
            raise ValueError(f"issued more than {settings.max_age_seconds} s ago")
        audiences = token.claims["aud"] if isinstance(token.claims["aud"], list) else [token.claims["aud"]]
        if len(audiences) > 1 and "azp" not in token.claims:
            raise ValueError("issued to several parties, and not said to be on Sluice's behalf (no azp)")
        if "azp" in token.claims and token.claims["azp"] != settings.client_id:
            raise ValueError("issued on another party's behalf (azp)")
        return token.claims

    def _key_set(self, key_id: str) -> KeySet:
        """The provider's keys, fetched again for a key id not seen yet (a rotation) at most once a minute."""
        keys = self._keys
        if keys is not None and any(key.kid == key_id for key in keys.keys):
            return keys  # no lock: a sign-in with a known key never waits on a fetch
        with self._keys_lock:
            since = time.monotonic() - self._keys_at
            if self._keys is None and self._keys_failed and since < _KEYS_RETRY_SECONDS:
                raise httpx.ConnectError(f"the provider's keys could not be fetched {since:.0f} s ago")
            if self._keys is not None and since < _KEYS_REFETCH_SECONDS:
                return self._keys
            self._keys_at, self._keys_failed = time.monotonic(), True
            self._keys = self._fetch_keys()
            self._keys_failed = False
            return self._keys

    def _fetch_keys(self) -> KeySet:
        discovery = self._json(self._settings.discovery_url)
        if discovery.get("issuer") != self._settings.issuer:
            raise _Misconfigured(f"the discovery document names issuer {discovery.get('issuer')!r}, "
                                 f"not {self._settings.issuer!r}")
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not _secure(jwks_uri):
            raise _Misconfigured(f"the provider's keys are not at an https:// address: {jwks_uri!r}")
        keys = self._json(jwks_uri)
        try:
            return KeySet.import_key_set(keys)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise _Misconfigured(f"the provider's keys cannot be read: {exc}") from None

    def _json(self, url: str) -> dict[str, Any]:
        response = self._http.get(url)
        response.raise_for_status()
        try:
            document = response.json()
        except ValueError:
            raise _Misconfigured(f"{url} does not answer JSON") from None
        if not isinstance(document, dict):
            raise _Misconfigured(f"{url} does not answer a JSON object")
        return document

    def _first_use(self, signed: str, usable_until: float) -> bool:
        digest, now = hashlib.sha256(signed.encode()).hexdigest(), self._clock()
        with self._used_lock:
            self._used = {key: until for key, until in self._used.items() if until > now}
            if digest in self._used:
                return False
            self._used[digest] = usable_until
            return True


def _key_id(id_token: str) -> str:
    return str(extract_compact(id_token.encode()).protected.get("kid", ""))


def _secure(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    if parts.scheme != "http":
        return False
    try:
        return parts.hostname == "localhost" or ipaddress.ip_address(parts.hostname or "").is_loopback
    except ValueError:
        return False
