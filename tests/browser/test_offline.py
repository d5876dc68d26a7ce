"""Nothing phones home: every connection `sluice up --demo` makes while a user clicks through the dashboard stays
on the box (the forwarder, the scanner and alert webhooks are the only parts allowed out, and none is set up)."""

import os
import re
import shutil
import signal
import subprocess

import pytest

from dashboard.pages import PAGES
from tests.conftest import unused_port
from tests.sluice.processes import SLUICE, env, wait_until_up

_ADDRESS = re.compile(r'connect\(\d+, \{sa_family=AF_INET6?, sin6?_port=htons\((\d+)\), .*?'
                      r'(?:inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)")')


def _traceable() -> bool:
    strace = shutil.which("strace")
    return bool(strace) and subprocess.run([strace, "-qq", "-e", "trace=connect", "true"],
                                           capture_output=True).returncode == 0


def _on_the_box(address: str) -> bool:
    return address.startswith("127.") or address in ("::1", "::") or address.startswith("::ffff:127.")


def test_sluice_up_and_a_dashboard_session_connect_to_nothing_off_the_box(browser, tmp_path):
    if not _traceable():
        pytest.skip("strace is missing or may not trace here (Debian: apt-get install strace); .ci/run installs it")
    log, ui, internal = tmp_path / "connect.log", unused_port(), unused_port()
    traced = subprocess.Popen(
        ["strace", "-f", "-qq", "-e", "trace=connect", "-o", str(log), *SLUICE, "up", "--demo", "--demo-events",
         "3000", "--data-dir", str(tmp_path / "data"), "--host", "127.0.0.1", "--dashboard-port", str(ui),
         "--public-port", str(unused_port()), "--internal-port", str(internal)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env() | {"PYTHONUNBUFFERED": "1"})
    try:
        wait_until_up(f"http://127.0.0.1:{internal}/healthz", traced)
        out = ""
        while "Stop with Ctrl+C." not in out:
            out += traced.stdout.readline()
        username, password = re.search(r"demo login:\s+(\S+) / (\S+)", out).groups()
        wait_until_up(f"http://127.0.0.1:{ui}/_stcore/health", traced)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"http://127.0.0.1:{ui}")
        page.get_by_role("textbox", name="Username").fill(username)
        page.get_by_role("textbox", name="Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("heading", name="Overview").wait_for(timeout=60_000)
        for _, title, _, _ in PAGES:  # the demo login is an admin: every page
            page.get_by_role("link", name=title, exact=True).click()
            page.get_by_role("heading", name=re.compile(f"^{re.escape(title)}")).first.wait_for(timeout=60_000)
        page.close()
    finally:
        for child in subprocess.run(["pgrep", "-P", str(traced.pid)], capture_output=True, text=True).stdout.split():
            os.kill(int(child), signal.SIGTERM)  # sluice itself, under strace
        traced.communicate(timeout=90)
    connections = {(int(port), v4 or v6) for port, v4, v6 in _ADDRESS.findall(log.read_text())}
    assert connections, "strace recorded no connection at all: the test would pass whatever happened"
    away = sorted(c for c in connections if not _on_the_box(c[1]))
    assert not away, f"connections off the box: {away}"
    # A name lookup means something meant to go out, even through a resolver on loopback.
    assert not [c for c in connections if c[0] == 53], f"name lookups: {sorted(connections)}"
