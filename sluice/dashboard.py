"""Running the Streamlit dashboard as a process of its own, pointed at the internal API."""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path

from api.openid import OidcSettings
from dashboard.client import API_TLS_ENV, DASHBOARD_KEY_ENV, SIGN_IN_ENV, SIGN_IN_PROVIDER
from sluice.errors import SecretMissing
from sluice.tls import TlsSettings, sighup_held

_HARDENING = [
    "--server.headless", "true",
    "--browser.gatherUsageStats", "false",  # nothing leaves the box
    "--client.showErrorDetails", "false",
    "--client.toolbarMode", "viewer",
    "--server.enableXsrfProtection", "true",
]


class SignIn:
    """Single sign-on for the dashboard: Streamlit's `[auth]` secrets for the provider, in a file of their own."""

    def __init__(self, settings: OidcSettings, secrets: Path) -> None:
        self.settings, self.secrets = settings, secrets

    def write(self, dashboard_key: bytes, env: Mapping[str, str] = os.environ) -> None:
        """Write the secrets, owner-only, with the client secret from its variable; raise `SecretMissing` without it."""
        settings = self.settings
        secret = env.get(settings.client_secret_env, "")
        if not secret:
            raise SecretMissing(f"login.oidc: set {settings.client_secret_env} to the client secret the identity "
                              f"provider gave Sluice's dashboard")
        # Streamlit signs its sign-in cookies with this: derived, so a restart keeps browsers' sign-ins valid.
        cookie_secret = hmac.new(dashboard_key, b"dashboard sign-in cookies", hashlib.sha256).hexdigest()
        client_kwargs = {"scope": " ".join(settings.scopes), "prompt": settings.prompt}
        if settings.ca_file:
            client_kwargs["verify"] = settings.ca_file
        lines = ["[auth]", f"redirect_uri = {_toml(settings.redirect_uri)}", f"cookie_secret = {_toml(cookie_secret)}",
                 'expose_tokens = ["id"]', "", f"[auth.{SIGN_IN_PROVIDER}]", f"client_id = {_toml(settings.client_id)}",
                 f"client_secret = {_toml(secret)}", f"server_metadata_url = {_toml(settings.discovery_url)}",
                 f"client_kwargs = {{ {', '.join(f'{k} = {_toml(v)}' for k, v in client_kwargs.items())} }}", ""]
        self.secrets.unlink(missing_ok=True)
        descriptor = os.open(self.secrets, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write("\n".join(lines))


def _toml(value: str) -> str:
    """A TOML basic string: JSON's, with characters outside ASCII as they are (TOML refuses JSON's surrogate
    pairs) and DEL escaped (TOML refuses it bare)."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def command(port: int, address: str, tls: TlsSettings = TlsSettings(), sign_in: SignIn | None = None) -> list[str]:
    """Streamlit's command line; over HTTPS with `tls` (see `dashboard.offline` for HSTS and SIGHUP)."""
    script = str(files("dashboard").joinpath("app.py"))
    https = ["--server.sslCertFile", tls.cert, "--server.sslKeyFile", tls.key] if tls.enabled else []
    secrets = ["--secrets.files", str(sign_in.secrets)] if sign_in else []
    return [sys.executable, "-m", "dashboard.offline", "run", script, "--server.port", str(port),
            "--server.address", address, *_HARDENING, *https, *secrets]


def environment(api_url: str, dashboard_key: bytes, tls: TlsSettings = TlsSettings(),
                sign_in: SignIn | None = None) -> dict[str, str]:
    """This environment, with where the API is, the key that lets the dashboard forward browsers' addresses, with
    `tls` the API's certificate to trust alone (an API on this machine's loopback) and the client's, and with
    `sign_in` what its button says."""
    pinned = dict(zip(API_TLS_ENV, (tls.cert, tls.client_cert, tls.client_key), strict=True)) if tls.enabled else {}
    label = {SIGN_IN_ENV: sign_in.settings.label} if sign_in else {}
    return (os.environ | {"SLUICE_API_URL": api_url, DASHBOARD_KEY_ENV: base64.b64encode(dashboard_key).decode()}
            | pinned | label)


def start(port: int, address: str, api_url: str, dashboard_key: bytes, tls: TlsSettings = TlsSettings(),
          sign_in: SignIn | None = None) -> subprocess.Popen:
    """The dashboard in a process of its own; with `sign_in`, its secrets written already."""
    with sighup_held():  # `dashboard.https` lets it through once the dashboard can reload
        return subprocess.Popen(command(port, address, tls, sign_in), env=environment(api_url, dashboard_key, tls,
                                                                                        sign_in))
