"""`sluice up --demo`: the README's first command."""

import re
import signal
import subprocess
import time
from datetime import date, timedelta

import httpx

from tests.conftest import unused_port
from tests.sluice.processes import SLUICE, env, stored_event_ids, wait_until_up


def _up(data_dir, public: int, internal: int) -> subprocess.Popen:
    return subprocess.Popen(
        [*SLUICE, "up", "--demo", "--demo-events", "3000", "--data-dir", str(data_dir), "--host", "127.0.0.1",
         "--dashboard-port", str(unused_port()),
         "--public-port", str(public), "--internal-port", str(internal)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env() | {"PYTHONUNBUFFERED": "1"},
    )


def _run_once(data_dir) -> tuple[str, str, int]:
    """Start `sluice up --demo`, log in with the printed demo credentials, stop it."""
    public, internal = unused_port(), unused_port()
    process = _up(data_dir, public, internal)
    try:
        wait_until_up(f"http://127.0.0.1:{internal}/healthz", process)
        out = ""
        while "Stop with Ctrl+C." not in out:
            out += process.stdout.readline()
        username, password = re.search(r"demo login:\s+(\S+) / (\S+)", out).groups()
        login = httpx.post(f"http://127.0.0.1:{internal}/api/session",
                           json={"username": username, "password": password})
        assert login.status_code == 201 and login.json()["role"] == "admin"
        _every_page_has_something_to_show(f"http://127.0.0.1:{internal}", login.json()["token"])
    except BaseException:
        process.kill()  # a failed check leaves no server behind
        process.communicate(timeout=60)
        raise
    process.send_signal(signal.SIGTERM)
    rest, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return out + rest, err, public


def _every_page_has_something_to_show(api: str, token: str) -> None:
    """Goals, annotations, a forwarder outbox with released and withheld cells, and trackers the demo's website
    planted and its scan found (the forwarder runs and the scan starts within seconds of the start)."""
    client = httpx.Client(base_url=api, headers={"authorization": f"Bearer {token}"}, timeout=30)
    assert {g["name"] for g in client.get("/api/goals").json()} >= {"Appointment booked", "Read about heart care"}
    assert any("campaign launched" in a["text"] for a in client.get("/api/annotations", params={"from": str(
        date.today() - timedelta(days=89))}).json())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        outbox = client.get("/api/outbox").json()
        trackers = client.get("/api/trackers").json()
        if outbox["records"] and trackers["hosts"]:
            break
        time.sleep(1)
    assert {record["destination"] for record in outbox["records"]} == {"demo-csv", "demo-webhook"}
    assert "suppressed" in {record["state"] for record in outbox["records"]}  # 3,000 events: cells under k
    assert {"www.facebook.com", "connect.facebook.net", "www.googletagmanager.com"} <= {
        host["host"] for host in trackers["hosts"]}


def test_up_seeds_demo_data_once_says_where_to_look_and_serves(tmp_path):
    data_dir = tmp_path / "data"
    out, err, public = _run_once(data_dir)
    assert f'<script defer src="http://127.0.0.1:{public}/t.js" data-site="default"></script>' in out
    assert "3.00k/3.00k" in err  # the progress bar
    assert sum(stored_event_ids(data_dir).values()) == 3000

    again, err, _ = _run_once(data_dir)
    assert "demo data not seeded again" in err + again
    assert sum(stored_event_ids(data_dir).values()) == 3000
