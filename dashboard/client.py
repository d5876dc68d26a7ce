"""The dashboard's only way to data: the internal API over HTTP, with the user's session token."""

import os
import re
import ssl
from pathlib import Path

import httpx

DEFAULT_API = "http://127.0.0.1:8401"
DASHBOARD_KEY_ENV = "SLUICE_DASHBOARD_KEY"
"""The key (base64) the dashboard shows the API when it forwards a browser's address; `sluice` sets it."""
SIGN_IN_ENV = "SLUICE_SIGN_IN"
"""Where set, the dashboard offers single sign-on, and the variable names the provider on its button."""
SIGN_IN_PROVIDER = "sluice"
"""The provider's name in Streamlit's `[auth]` secrets (`st.login(SIGN_IN_PROVIDER)`)."""
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----")
API_TLS_ENV = ("SLUICE_API_CERT", "SLUICE_API_CLIENT_CERT", "SLUICE_API_CLIENT_KEY")
"""The API's own certificate, trusted alone (`sluice up` sets it for an API on loopback over HTTPS), and the
client certificate and key to present where the API asks for one."""


def pinned(cert: str, client_cert: str = "", client_key: str = "") -> ssl.SSLContext:
    """TLS that trusts exactly the first certificate in `cert` (the API's own, on loopback, in no certificate's
    names), not the CAs after it in the chain, and presents `client_cert` where one is asked."""
    leaf = _PEM.search(Path(cert).read_text())
    if leaf is None:
        raise ssl.SSLError(f"no PEM certificate in {cert}")
    context = ssl.create_default_context(cadata=leaf.group(0))
    context.check_hostname = False
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # the leaf itself is the trust anchor
    if client_cert:
        context.load_cert_chain(client_cert, client_key)
    return context


class DashboardError(Exception):
    """Base class for every dashboard failure."""


class ApiRefused(DashboardError):
    """The internal API answered with an error, or did not answer; `status` is its HTTP status (503 if none)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


class Api:
    def __init__(self, base_url: str | None = None, token: str | None = None) -> None:
        self.base_url = base_url or os.environ.get("SLUICE_API_URL", DEFAULT_API)
        self.token = token
        self._tls = tuple(os.environ.get(name, "") for name in API_TLS_ENV)
        self._pinned: tuple[float, ssl.SSLContext] | None = None

    def log_in(self, username: str, password: str, client_ip: str | None = None) -> dict:
        """Open a session; `client_ip`, the browser's address, lets the API limit and audit per person."""
        return self._open("/api/session", {"username": username, "password": password}, client_ip)

    def sign_in(self, id_token: str, client_ip: str | None = None) -> dict:
        """Open a session with the ID token the organisation's identity provider gave this browser."""
        return self._open("/api/session/oidc", {"id_token": id_token}, client_ip)

    def _open(self, path: str, body: dict, client_ip: str | None) -> dict:
        key = os.environ.get(DASHBOARD_KEY_ENV, "")
        headers = {"sluice-client-ip": client_ip, "sluice-dashboard-key": key} if client_ip and key else {}
        session = self._send("POST", path, json=body, headers=headers)
        self.token = session["token"]
        return session

    def log_out(self) -> None:
        if self.token:
            try:
                self._send("DELETE", "/api/session")
            except ApiRefused:
                pass
            self.token = None

    def get(self, path: str, **params) -> dict:
        return self._send("GET", path, params=params)

    def post(self, path: str, body: dict) -> dict:
        return self._send("POST", path, json=body)

    def put(self, path: str, body: dict) -> dict:
        return self._send("PUT", path, json=body)

    def patch(self, path: str, body: dict) -> dict:
        return self._send("PATCH", path, json=body)

    def delete(self, path: str, **params) -> None:
        self._send("DELETE", path, params=params)

    def text(self, path: str, **params) -> str:
        return self._send("GET", path, params=params, raw=True)

    def _verify(self) -> ssl.SSLContext | bool:
        """The pinned certificate as its file holds it now: a renewed one counts from the next call."""
        cert = self._tls[0]
        if not cert:
            return True
        changed = os.stat(cert).st_mtime
        if self._pinned is None or self._pinned[0] != changed:
            self._pinned = (changed, pinned(*self._tls))
        return self._pinned[1]

    def _send(self, method: str, path: str, raw: bool = False, headers: dict | None = None, **kwargs):
        headers = (headers or {}) | ({"authorization": f"Bearer {self.token}"} if self.token else {})
        try:
            response = httpx.request(method, self.base_url + path, headers=headers, timeout=30, verify=self._verify(),
                                     **kwargs)
        except httpx.TransportError as exc:
            raise ApiRefused(503, f"the Sluice API at {self.base_url} is not answering ({exc})") from None
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise ApiRefused(response.status_code, str(detail))
        if response.status_code == 204:
            return None
        return response.text if raw else response.json()
