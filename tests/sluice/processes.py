"""Running `sluice` as a real process, as an administrator would."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

SLUICE = [sys.executable, "-m", "sluice"]

_COUNT_EVENTS = """
import json, pathlib, sys
import warehouse as w
wh = w.open_warehouse(w.WarehouseSettings(dsn=w.embedded_dsn(pathlib.Path(sys.argv[1]))))
print(json.dumps(dict(wh.client.query("SELECT client_event_id, count() FROM events GROUP BY client_event_id").result_rows)))
"""


def env() -> dict[str, str]:
    """This environment without any SLUICE_ setting, so only the test's arguments count."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}


def sluice(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SLUICE, *args], capture_output=True, text=True, timeout=300, env=env())


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"sluice exited early:\n{process.stderr.read() if process.stderr else ''}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


def stored_event_ids(data_dir: Path) -> dict[str, int]:
    """Client event id -> times stored, read by a separate process (the engine allows one path per process)."""
    done = subprocess.run([*SLUICE[:1], "-c", _COUNT_EVENTS, str(data_dir)], capture_output=True, text=True,
                          check=True, env=env())
    return json.loads(done.stdout)
