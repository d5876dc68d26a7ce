"""Every event that got a 202 is stored exactly once, even when the server is killed under load."""

import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.conftest import unused_port
from tests.sluice.processes import SLUICE, env, stored_event_ids, wait_until_up

def _start(data_dir: Path) -> tuple[subprocess.Popen, str]:
    public = unused_port()
    process = subprocess.Popen(
        [*SLUICE, "serve", "--data-dir", str(data_dir), "--host", "127.0.0.1",
         "--public-port", str(public), "--internal-port", str(unused_port())],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env(),
    )
    url = f"http://127.0.0.1:{public}"
    wait_until_up(url + "/healthz", process)
    return process, url


def _load(url: str, stop: threading.Event, worker: int) -> list[str]:
    """Send 5-event batches until stopped; return the ids of events acknowledged with 202."""
    acked, n = [], 0
    with httpx.Client(timeout=5) as client:
        while not stop.is_set():
            ids = [f"w{worker}-{n}-{i}" for i in range(5)]
            n += 1
            batch = [{"site": "default", "name": "pageview", "url": "https://h.org/", "id": i} for i in ids]
            try:
                response = client.post(url + "/collect", json=batch)
            except httpx.TransportError:
                continue
            if response.status_code == 202:
                acked.extend(ids)
    return acked


def test_acknowledged_events_survive_sigkill_exactly_once(tmp_path):
    data_dir = tmp_path / "data"
    process, url = _start(data_dir)
    stop = threading.Event()
    with ThreadPoolExecutor(8) as pool:
        loads = [pool.submit(_load, url, stop, worker) for worker in range(8)]
        time.sleep(3)
        process.send_signal(signal.SIGKILL)
        process.wait()
        time.sleep(0.5)
        stop.set()
        acked = [event_id for load in loads for event_id in load.result()]
    assert len(acked) > 500, "the load never got going"
    print(f"{len(acked)} events acknowledged before SIGKILL")

    restarted, _ = _start(data_dir)  # replays the spool left by the killed process
    restarted.send_signal(signal.SIGTERM)
    assert restarted.wait(timeout=60) == 0

    stored = stored_event_ids(data_dir)
    missing = [event_id for event_id in acked if event_id not in stored]
    duplicated = {event_id: n for event_id, n in stored.items() if n > 1}
    assert not missing, f"{len(missing)} acknowledged events were lost"
    assert not duplicated, f"{len(duplicated)} events were stored more than once"
