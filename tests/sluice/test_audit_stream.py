"""`sluice serve` streams its audit chain to the SIEM as it writes it, and says how far behind it is."""

import re
import subprocess
import time

import httpx

from tests.conftest import unused_port
from tests.sluice.processes import SLUICE, env, sluice, wait_until_up
from tests.syslog import rsyslog


def test_a_running_server_streams_its_audit_entries_to_syslog_and_reports_the_lag(tmp_path):
    with rsyslog(tmp_path / "syslog") as syslog:
        config = tmp_path / "sluice.toml"
        config.write_text(f'[audit]\nstream_seconds = 1\njsonl = "{tmp_path / "audit.jsonl"}"\n'
                          f'[audit.syslog]\nhost = "127.0.0.1"\nport = {syslog.port}\n[server]\npublic_workers = 0\n')
        internal = unused_port()
        data_dir = tmp_path / "data"
        process = subprocess.Popen([*SLUICE, "serve", "--config", str(config), "--data-dir", str(data_dir),
                                    "--host", "127.0.0.1", "--public-port", str(unused_port()),
                                    "--internal-port", str(internal)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env())
        try:
            wait_until_up(f"http://127.0.0.1:{internal}/healthz", process)
            assert sluice("audit", "verify", "--config", str(config), "--data-dir", str(data_dir)).returncode == 0
            streamed = syslog.messages(2)  # the migration at start, and the verify just made
            assert [fields[3] for fields in streamed[:2]] == ["warehouse.migrate", "audit.verify"]
            lag = _lag(internal)
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert lag == {"syslog": 0.0, "jsonl": 0.0}
    assert len((tmp_path / "audit.jsonl").read_text().splitlines()) >= 2


def _lag(port: int, seconds: float = 10) -> dict[str, float]:
    deadline = time.monotonic() + seconds
    while True:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        lag = {sink: float(value) for sink, value in
               re.findall(r'^sluice_audit_stream_lag_entries\{sink="(\w+)"\} (\S+)$', text, re.MULTILINE)}
        if (lag and not any(lag.values())) or time.monotonic() > deadline:
            return lag
        time.sleep(0.3)
