"""Running the Streamlit dashboard as a process of its own, pointed at the internal API."""

import base64
import os
import subprocess
import sys
from importlib.resources import files

from dashboard.client import DASHBOARD_KEY_ENV

_HARDENING = [
    "--server.headless", "true",
    "--browser.gatherUsageStats", "false",  # nothing leaves the box
    "--client.showErrorDetails", "false",
    "--client.toolbarMode", "viewer",
    "--server.enableXsrfProtection", "true",
]


def command(port: int, address: str) -> list[str]:
    script = str(files("dashboard").joinpath("app.py"))
    return [sys.executable, "-m", "dashboard.offline", "run", script, "--server.port", str(port),
            "--server.address", address, *_HARDENING]


def environment(api_url: str, dashboard_key: bytes) -> dict[str, str]:
    """This environment, with where the API is and the key that lets the dashboard forward browsers' addresses."""
    return os.environ | {"SLUICE_API_URL": api_url, DASHBOARD_KEY_ENV: base64.b64encode(dashboard_key).decode()}


def start(port: int, address: str, api_url: str, dashboard_key: bytes) -> subprocess.Popen:
    return subprocess.Popen(command(port, address), env=environment(api_url, dashboard_key))
