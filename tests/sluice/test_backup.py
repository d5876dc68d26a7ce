"""Backups that restore: `sluice backup` writes the warehouse, the spool and the keys with a manifest of
checksums; `sluice restore` brings them back whole into an empty data dir, where the audit log verifies."""

import json
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from sluice.backup import MANIFEST
from tests.conftest import unused_port
from tests.sluice.processes import SLUICE, env, run_sql, stored_event_ids, wait_until_up
from tests.sluice.test_durability import _load

TABLES = "SELECT name FROM system.tables WHERE database = 'sluice' AND engine NOT LIKE '%View' ORDER BY name"


def _sluice(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*SLUICE, *args, "--data-dir", str(data_dir)], capture_output=True, text=True, env=env(),
                          timeout=600)


def _contents(data_dir: Path) -> dict[str, list[int]]:
    """Every table's rows, as sorted hashes of each whole row."""
    tables = [row[0] for row in run_sql(data_dir, TABLES)]
    union = " UNION ALL ".join(f"SELECT '{t}', arraySort(groupArray(cityHash64(*))) FROM `{t}`" for t in tables)
    return dict(run_sql(data_dir, union))


@pytest.fixture(scope="module")
def populated(tmp_path_factory) -> Path:
    """A data dir with demo traffic, accounts and their audit entries, and no server running."""
    data_dir = tmp_path_factory.mktemp("populated") / "data"
    assert _sluice("demo", "seed", "--events", "3000", "--days", "5", data_dir=data_dir).returncode == 0
    added = subprocess.run([*SLUICE, "user", "add", "ana", "--role", "analyst", "--password-stdin",
                            "--data-dir", str(data_dir)], input="violet-Harbor-93-kite\n", capture_output=True,
                           text=True, env=env(), timeout=300)
    assert added.returncode == 0, added.stderr
    return data_dir


def test_a_restored_backup_holds_every_row_of_every_table_and_its_audit_log_verifies(populated, tmp_path):
    made = _sluice("backup", str(tmp_path / "backup"), data_dir=populated)
    assert made.returncode == 0, made.stderr
    assert "every checksum read back" in made.stdout and "checking the backup" in made.stderr  # the progress bar
    manifest = json.loads((tmp_path / "backup" / MANIFEST).read_text())
    assert manifest["tables"]["events"] == 3000 and all(len(digest) == 64 for digest in manifest["files"].values())

    restored = tmp_path / "restored"
    done = _sluice("restore", str(tmp_path / "backup"), data_dir=restored)
    assert done.returncode == 0 and not (restored / "restore-incomplete").exists(), done.stderr
    before, after = _contents(populated), _contents(restored)
    assert before.keys() == after.keys() and "events" in after
    for table in before.keys() - {"audit_log", "leases"}:
        assert after[table] == before[table], table
    # The audit log goes on after the backup (the backup's own entry, the restore's): the copy holds what was.
    assert set(after["audit_log"]) - set(before["audit_log"]) and set(before["audit_log"]) - set(after["audit_log"])
    verified = _sluice("audit", "verify", data_dir=restored)
    assert verified.returncode == 0 and "audit log intact" in verified.stdout, verified.stdout + verified.stderr
    kept = [key for key in ("audit-key", "consent-key", "dashboard-key") if (populated / key).exists()]
    assert "audit-key" in kept
    assert all((restored / key).read_bytes() == (populated / key).read_bytes() for key in kept)


def test_a_backup_taken_under_load_restores_every_event_acknowledged_before_it_exactly_once(tmp_path):
    data_dir, public, internal = tmp_path / "data", unused_port(), unused_port()
    server = subprocess.Popen([*SLUICE, "serve", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--public-port",
                               str(public), "--internal-port", str(internal)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env())
    stop, acked = threading.Event(), []
    try:
        wait_until_up(f"http://127.0.0.1:{internal}/healthz", server)
        loaders = [threading.Thread(target=lambda w=w: acked.extend(_load(f"http://127.0.0.1:{public}", stop, w)))
                   for w in range(2)]
        for loader in loaders:
            loader.start()
        time.sleep(3)
        stop.set()
        for loader in loaders:
            loader.join()
        before_backup, stop = list(acked), threading.Event()
        loaders = [threading.Thread(target=lambda w=w: acked.extend(_load(f"http://127.0.0.1:{public}", stop, w)))
                   for w in range(2, 4)]
        # Audited reads go on meanwhile: the audit log grows while the backup is taken, as with people at work.
        loaders.append(threading.Thread(target=_read_users, args=(f"http://127.0.0.1:{internal}", data_dir, stop)))
        for loader in loaders:
            loader.start()
        made = _sluice("backup", str(tmp_path / "backup"), data_dir=data_dir)  # through the running server
        stop.set()
        for loader in loaders:
            loader.join()
        assert made.returncode == 0, made.stderr
    finally:
        stop.set()
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=60)
    restored = tmp_path / "restored"
    assert _sluice("restore", str(tmp_path / "backup"), data_dir=restored).returncode == 0
    # The restored spool's segments are stored at the next start, as after any stop.
    again = subprocess.Popen([*SLUICE, "serve", "--data-dir", str(restored), "--host", "127.0.0.1", "--public-port",
                              str(unused_port()), "--internal-port", str(internal)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env())
    wait_until_up(f"http://127.0.0.1:{internal}/healthz", again)
    again.send_signal(signal.SIGTERM)
    again.communicate(timeout=60)
    stored = stored_event_ids(restored)
    assert before_backup and all(stored.get(event) == 1 for event in before_backup)
    assert max(stored.values()) == 1  # nothing both in the tables and in the spool


def _read_users(internal: str, data_dir: Path, stop: threading.Event) -> None:
    headers = {"authorization": f"Bearer {(data_dir / 'ops-token').read_text().strip()}"}
    with httpx.Client(base_url=internal, headers=headers, timeout=10) as client:
        while not stop.is_set():
            client.get("/api/ops/users").raise_for_status()


def test_a_backup_goes_only_into_a_new_directory_outside_the_data_dir(populated, tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "something").write_text("x")
    for destination, says in [(tmp_path / "used", "is not empty"), (populated / "backups", "inside the data dir")]:
        refused = _sluice("backup", str(destination), data_dir=populated)
        assert refused.returncode != 0 and says in refused.stderr, refused.stderr


def test_a_damaged_backup_or_a_used_data_dir_is_not_restored(populated, tmp_path):
    assert _sluice("backup", str(tmp_path / "backup"), data_dir=populated).returncode == 0
    refused = _sluice("restore", str(tmp_path / "backup"), data_dir=populated)
    assert refused.returncode != 0 and "is not empty" in refused.stderr
    events = next((tmp_path / "backup" / "warehouse").rglob("*.bin"))
    events.write_bytes(events.read_bytes()[:-1] + bytes([events.read_bytes()[-1] ^ 1]))
    damaged = _sluice("restore", str(tmp_path / "backup"), data_dir=tmp_path / "restored")
    assert damaged.returncode != 0 and "does not match its checksum" in damaged.stderr
    assert not (tmp_path / "restored" / "warehouse").exists()


def test_a_backup_with_a_file_its_manifest_does_not_list_is_not_restored(populated, tmp_path):
    """An event planted in the spool, or engine settings planted among the keys, would be taken in."""
    assert _sluice("backup", str(tmp_path / "backup"), data_dir=populated).returncode == 0
    for planted in ("spool/events/00000000000000000001-1-planted.seg", "keys/warehouse.xml"):
        (tmp_path / "backup" / planted).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "backup" / planted).write_text("planted\n")
        refused = _sluice("restore", str(tmp_path / "backup"), data_dir=tmp_path / "restored")
        assert refused.returncode != 0 and "does not list" in refused.stderr, refused.stderr
        (tmp_path / "backup" / planted).unlink()
    assert not (tmp_path / "restored" / "warehouse").exists()


def test_a_data_dir_left_by_an_interrupted_restore_is_used_by_nothing(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "restore-incomplete").touch()  # what a restore cut short leaves
    for command in (("user", "list"), ("restore", str(tmp_path))):
        refused = _sluice(*command, data_dir=data_dir)
        assert refused.returncode != 0 and "did not finish" in refused.stderr, refused.stderr


_DAILY = """
import json, sys, time
from pathlib import Path
from sluice.backup import BackupSettings
from sluice.datadir import DataDir
from sluice.upkeep import daily_backup
from warehouse import WarehouseSettings, embedded_dsn, open_warehouse
data_dir, daily = DataDir(Path(sys.argv[1])), sys.argv[2]
warehouse = open_warehouse(WarehouseSettings(dsn=embedded_dsn(data_dir.path)), audit_key=data_dir.audit_key())
for _ in range(3):
    daily_backup(BackupSettings(directory=daily, keep=2), warehouse, data_dir, data_dir.path / "audit-anchors.jsonl")
    time.sleep(1.1)  # each is named by its second
entries, _ = warehouse.audit.search(action="backup.create", limit=10)
print(json.dumps([[entry.actor, entry.resource] for entry in entries]))
warehouse.close()
"""


def test_the_daily_backup_keeps_the_newest_and_is_audited(populated, tmp_path):
    """As `sluice serve` runs it, in a process of its own (the engine takes one data dir per process)."""
    (tmp_path / "daily").mkdir()
    assert _sluice("backup", str(tmp_path / "daily" / "before-the-upgrade"), data_dir=populated).returncode == 0
    ran = subprocess.run([*SLUICE[:1], "-c", _DAILY, str(populated), str(tmp_path / "daily")], capture_output=True,
                         text=True, env=env(), timeout=300)
    assert ran.returncode == 0, ran.stderr
    kept = sorted(path.name for path in (tmp_path / "daily").iterdir() if path.name.startswith("sluice-"))
    assert len(kept) == 2 and all((tmp_path / "daily" / name / MANIFEST).is_file() for name in kept)
    assert (tmp_path / "daily" / "before-the-upgrade" / MANIFEST).is_file()  # one named by hand stays
    scheduled = [resource for actor, resource in json.loads(ran.stdout) if actor == "system:backup"]
    assert len(scheduled) == 3 and kept[-1] in scheduled[0]  # newest first
