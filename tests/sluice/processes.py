"""Running `sluice` as a real process, as an administrator would."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

SLUICE = [sys.executable, "-m", "sluice"]

_RUN_SQL = """
import json, pathlib, sys
import warehouse as w
# A client of the engine alone, as someone with access to the warehouse but not the keys would hold.
dsn = w.embedded_dsn(pathlib.Path(sys.argv[1]))
client = w.connect(w.WarehouseSettings(dsn=dsn))
client.database = w.parse_dsn(dsn).database
statement = sys.argv[2]
if statement.startswith("SELECT"):
    print(json.dumps(client.query(statement).result_rows, default=str))
else:
    client.command(statement, settings={"mutations_sync": 1})
    print("[]")
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
    return dict(run_sql(data_dir, "SELECT client_event_id, count() FROM events GROUP BY client_event_id"))


def run_sql(data_dir: Path, statement: str) -> list[list]:
    """One statement on the embedded warehouse in `data_dir`, from a separate process, with no key in hand."""
    done = subprocess.run([*SLUICE[:1], "-c", _RUN_SQL, str(data_dir), statement], capture_output=True, text=True,
                          check=True, env=env())
    return json.loads(done.stdout)
