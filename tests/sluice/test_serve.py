"""`sluice serve` as a real process: two listeners on one warehouse, commands beside it, clean stop."""

import json
import os
import re
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from tests.conftest import unused_port
from tests.sluice.processes import SLUICE, env, run_sql, sluice, wait_until_up


class Server(msgspec.Struct):
    process: subprocess.Popen
    data_dir: Path
    public: str
    internal: str


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("serve") / "data"
    public_port, internal_port = unused_port(), unused_port()
    process = subprocess.Popen(
        [*SLUICE, "serve", "--data-dir", str(data_dir), "--host", "127.0.0.1",
         "--public-port", str(public_port), "--internal-port", str(internal_port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(),
    )
    running = Server(process, data_dir, f"http://127.0.0.1:{public_port}", f"http://127.0.0.1:{internal_port}")
    try:
        wait_until_up(running.public + "/healthz", process)
        wait_until_up(running.internal + "/healthz", process)
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_both_listeners_answer_health(server):
    assert httpx.get(server.public + "/healthz").json() == {"status": "ok"}
    assert httpx.get(server.internal + "/healthz").json() == {"status": "ok", "warehouse": "ok"}


def test_metrics_are_on_the_internal_listener_only(server):
    event = {"site": "default", "name": "pageview", "url": "https://www.example-hospital.org/"}
    assert httpx.post(server.public + "/collect", json=event).status_code == 202
    assert httpx.post(server.public + "/collect", json={}).status_code == 400
    httpx.get(server.internal + "/healthz")
    assert httpx.get(server.public + "/metrics").status_code == 404
    # Each worker hands its counters to the main process about once a second, and the two
    # requests may have reached different workers.
    counted = (r"^sluice_events_accepted_total [1-9]", r'^sluice_events_rejected_total\{reason="invalid"\} [1-9]')
    deadline = time.monotonic() + 10
    while not all(re.search(line, (metrics := httpx.get(server.internal + "/metrics")).text, re.M) for line in counted):
        assert time.monotonic() < deadline, "accepted and rejected events never both showed in /metrics"
        time.sleep(0.2)
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert 'sluice_requests_total{app_name="internal",method="GET",path="/healthz",status_code="200"}' in metrics.text
    for name in ("sluice_spool_bytes", "sluice_spool_segments", "sluice_batch_insert_seconds", "sluice_warehouse_errors"):
        assert name in metrics.text


def test_the_public_listener_routes_nothing_internal(server):
    assert httpx.post(server.public + "/api/ops/migrate").status_code == 404
    assert httpx.get(server.public + "/api/schema/openapi.json").status_code == 404


def test_operations_need_the_ops_token(server):
    assert httpx.post(server.internal + "/api/ops/migrate").status_code == 401
    wrong = httpx.post(server.internal + "/api/ops/migrate", headers={"authorization": "Bearer guess"})
    assert wrong.status_code == 401


def test_the_ops_token_is_readable_by_its_owner_only(server):
    mode = stat.S_IMODE((server.data_dir / "ops-token").stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(server.data_dir.stat().st_mode) == 0o700


def test_commands_work_through_the_running_server(server):
    before = sluice("audit", "verify", "--data-dir", str(server.data_dir))
    migrate = sluice("--data-dir", str(server.data_dir), "migrate")
    after = sluice("audit", "verify", "--data-dir", str(server.data_dir))
    assert migrate.returncode == 0 and "schema is up to date" in migrate.stdout
    assert before.returncode == after.returncode == 0
    checked = [int(r.stdout.split(": ")[1].split()[0]) for r in (before, after)]
    assert checked[1] == checked[0] + 2  # the first verify and the migrate were audited in the chain


def test_a_second_server_on_the_same_data_dir_is_refused(server):
    second = sluice("serve", "--data-dir", str(server.data_dir), "--public-port", str(unused_port()),
                     "--internal-port", str(unused_port()))
    assert second.returncode == 1
    assert f"another sluice process (pid {server.process.pid}) is using" in second.stderr


def test_a_port_in_use_is_one_clear_line(server, tmp_path):
    taken = server.public.rsplit(":", 1)[1]
    result = sluice("serve", "--data-dir", str(tmp_path / "d"), "--host", "127.0.0.1", "--public-port", taken,
                     "--internal-port", str(unused_port()))
    assert result.returncode == 1
    assert result.stderr.strip() == f"sluice: cannot listen on 127.0.0.1:{taken} (public): Address already in use"


def test_public_workers_serve_the_public_listener_and_a_dead_one_is_replaced(server):
    workers = _workers(server.process.pid)
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)
    deadline = time.monotonic() + 15
    while len(replaced := _workers(server.process.pid)) < 2 or workers[0] in replaced:
        assert time.monotonic() < deadline, "the dead worker was not replaced"
        time.sleep(0.2)
    event = {"site": "default", "name": "pageview", "url": "https://www.example-hospital.org/"}
    assert all(httpx.post(server.public + "/collect", json=event).status_code == 202 for _ in range(20))


def _workers(parent: int) -> list[int]:
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [int(pid) for pid in children if "sluice.workers" in Path(f"/proc/{pid}/cmdline").read_text()]


# Runs `sluice serve`, writing down as it goes how many objects garbage collections leave out.
_NOTING_SERVE = """
import gc, os, runpy, sys, threading, time
def note(path):
    while True:
        with open(path + ".tmp", "w") as out:
            out.write(str(gc.get_freeze_count()))
        os.replace(path + ".tmp", path)
        time.sleep(0.1)
threading.Thread(target=note, args=[sys.argv.pop()], daemon=True).start()
runpy.run_module("sluice", run_name="__main__")
"""


def test_the_server_answers_with_its_start_up_objects_left_out_of_collections(tmp_path):
    """A full garbage collection over the start-up heap stalled a report for about 100 ms."""
    internal_port, noted = unused_port(), tmp_path / "frozen"
    process = subprocess.Popen(
        [SLUICE[0], "-c", _NOTING_SERVE, "serve", "--data-dir", str(tmp_path / "data"), "--host", "127.0.0.1",
         "--public-port", str(unused_port()), "--internal-port", str(internal_port), str(noted)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    try:
        wait_until_up(f"http://127.0.0.1:{internal_port}/healthz", process)
        time.sleep(0.3)  # a note made after it answered
        assert int(noted.read_text()) > 10_000
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_sigterm_stops_the_server_cleanly(server):
    # Runs last in this module: it ends the shared server.
    workers = _workers(server.process.pid)
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=30) == 0
    assert not (server.data_dir / "server.json").exists()
    assert workers and not any(Path(f"/proc/{pid}").exists() for pid in workers), "workers outlived the server"
    assert '"message": "stopped"' in server.process.stderr.read()
    # The data dir is free again: a command opens the warehouse itself.
    verify = sluice("audit", "verify", "--data-dir", str(server.data_dir))
    assert verify.returncode == 0, verify.stderr


def test_ctrl_c_in_a_terminal_stops_the_server_and_its_workers_quietly(tmp_path):
    """A terminal sends SIGINT to its whole foreground process group, not to the server alone."""
    public_port, internal_port = unused_port(), unused_port()
    process = subprocess.Popen(
        [*SLUICE, "serve", "--data-dir", str(tmp_path / "data"), "--host", "127.0.0.1",
         "--public-port", str(public_port), "--internal-port", str(internal_port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), start_new_session=True)
    try:
        wait_until_up(f"http://127.0.0.1:{public_port}/healthz", process)
        workers = _workers(process.pid)
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0 and '"message": "stopped"' in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-2000:]
    assert workers and not any(Path(f"/proc/{pid}").exists() for pid in workers)


def test_the_head_anchored_at_stop_shows_entries_cut_from_the_warehouse_afterwards(server):
    # After the stop above: someone with the warehouse files but not the keys deletes the newest entries.
    anchors = [json.loads(line) for line in (server.data_dir / "audit-anchors.jsonl").read_text().splitlines()]
    heads = dict(run_sql(server.data_dir, "SELECT chain, max(seq) FROM audit_log GROUP BY chain"))
    assert {chain: max(a["seq"] for a in anchors if a["chain"] == chain) for chain in heads} == heads
    chain, newest = next((chain, seq) for chain, seq in heads.items() if seq > 2)
    run_sql(server.data_dir, f"ALTER TABLE audit_log DELETE WHERE chain = '{chain}' AND seq >= {newest - 1}")
    verify = sluice("audit", "verify", "--data-dir", str(server.data_dir))
    # The command itself writes on past the cut (the cut links' numbers stay spent), so the cut shows as a gap.
    assert verify.returncode == 1
    assert f"chain '{chain}', entry {newest - 1}: entry {newest - 1} is missing" in verify.stderr
