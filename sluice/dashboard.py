"""Running the Streamlit dashboard as a process of its own, pointed at the internal API."""

import base64
import os
import subprocess
import sys
from importlib.resources import files

from dashboard.client import API_TLS_ENV, DASHBOARD_KEY_ENV
from sluice.tls import TlsSettings, sighup_held

_HARDENING = [
    "--server.headless", "true",
    "--browser.gatherUsageStats", "false",  # nothing leaves the box
    "--client.showErrorDetails", "false",
    "--client.toolbarMode", "viewer",
    "--server.enableXsrfProtection", "true",
]


def command(port: int, address: str, tls: TlsSettings = TlsSettings()) -> list[str]:
    """Streamlit's command line; over HTTPS with `tls` (see `dashboard.offline` for HSTS and SIGHUP)."""
    script = str(files("dashboard").joinpath("app.py"))
    https = ["--server.sslCertFile", tls.cert, "--server.sslKeyFile", tls.key] if tls.enabled else []
    return [sys.executable, "-m", "dashboard.offline", "run", script, "--server.port", str(port),
            "--server.address", address, *_HARDENING, *https]


def environment(api_url: str, dashboard_key: bytes, tls: TlsSettings = TlsSettings()) -> dict[str, str]:
    """This environment, with where the API is, the key that lets the dashboard forward browsers' addresses, and
    with `tls` the API's certificate to trust alone (an API on this machine's loopback) and the client's."""
    pinned = dict(zip(API_TLS_ENV, (tls.cert, tls.client_cert, tls.client_key), strict=True)) if tls.enabled else {}
    return os.environ | {"SLUICE_API_URL": api_url, DASHBOARD_KEY_ENV: base64.b64encode(dashboard_key).decode()} | pinned


def start(port: int, address: str, api_url: str, dashboard_key: bytes, tls: TlsSettings = TlsSettings()) -> subprocess.Popen:
    with sighup_held():  # `dashboard.https` lets it through once the dashboard can reload
        return subprocess.Popen(command(port, address, tls), env=environment(api_url, dashboard_key, tls))
