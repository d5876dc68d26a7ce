"""Running the Streamlit dashboard as a process of its own, pointed at the internal API."""

import os
import subprocess
import sys
from importlib.resources import files

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


def start(port: int, address: str, api_url: str) -> subprocess.Popen:
    return subprocess.Popen(command(port, address), env=os.environ | {"SLUICE_API_URL": api_url})
