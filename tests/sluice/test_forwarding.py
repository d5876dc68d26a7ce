"""`sluice serve` runs the forwarder's schedule; `sluice forward` commands work beside it."""

import hashlib
import hmac
import json
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import unused_port
from tests.sluice.processes import SLUICE, env, sluice, wait_until_up

SECRET = "receiver-shared-secret"


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", unused_port()), _Receiver)
    _Receiver.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_serve_sends_yesterdays_signal_to_a_signed_webhook_and_commands_report_it(tmp_path, receiver):
    data_dir, config = tmp_path / "data", tmp_path / "sluice.toml"
    config.write_text(f"""
[forwarder]
enabled = true
lateness_minutes = 0
values = {{ utm_source = ["google", "facebook", "newsletter"] }}
patterns = {{ utm_campaign = "(knee-replacement|heart-health|brand|flu-shots)" }}
[[forwarder.signals]]
event = "appointment_request"
name = "Lead"
[[forwarder.destinations]]
type = "webhook"
id = "hook"
url = "{receiver}"
secret_env = "SLUICE_TEST_HOOK_SECRET"
dimensions = []
""")
    seeded = sluice("--data-dir", str(data_dir), "demo", "seed", "--events", "20000", "--days", "2")
    assert seeded.returncode == 0, seeded.stderr
    public, internal = unused_port(), unused_port()
    process = subprocess.Popen(
        [*SLUICE, "serve", "--config", str(config), "--data-dir", str(data_dir), "--host", "127.0.0.1",
         "--public-port", str(public), "--internal-port", str(internal)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env() | {"SLUICE_TEST_HOOK_SECRET": SECRET})
    try:
        wait_until_up(f"http://127.0.0.1:{internal}/healthz", process)
        yesterday = datetime.combine(datetime.now(UTC).date() - timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        deadline = time.monotonic() + 60
        while not (sent := [r for r in _Receiver.received if json.loads(r[1])["window_start"] == yesterday.isoformat()]):
            assert time.monotonic() < deadline, "the schedule never sent yesterday's window"
            time.sleep(0.2)
        headers, body = sent[0]
        expected = hmac.new(SECRET.encode(), headers["sluice-timestamp"].encode() + b"." + body, hashlib.sha256)
        assert hmac.compare_digest(headers["sluice-signature"], "v1=" + expected.hexdigest())
        payload = json.loads(body)
        assert payload["signal"] == "Lead" and payload["cells"]
        assert all(cell["visitors"] >= 11 for cell in payload["cells"])
        time.sleep(1)  # let the run finish its other window
        received = len(_Receiver.received)
        status = sluice("--config", str(config), "--data-dir", str(data_dir), "forward", "status")
        assert status.returncode == 0 and "hook" in status.stdout and "sent" in status.stdout
        assert "of its monthly 31" in status.stdout  # the default, private policy, and its cap
        again = sluice("--config", str(config), "--data-dir", str(data_dir), "forward", "run",
                       "--window", yesterday.strftime("%Y-%m-%d"))
        assert again.returncode == 0, again.stderr
        assert "nothing to send" in again.stdout and len(_Receiver.received) == received  # never twice
    finally:
        process.terminate()
        process.wait(60)
