"""The systemd unit for the embedded deployment: valid as systemd reads it, hardened, and its command starts
Sluice, logs what it runs and stops cleanly on the signal systemd sends."""

import json
import re
import shlex
import shutil
import signal
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

from collector.settings import opt_out_sites
from forwarder.runner import policy_version
from sluice.config import load_config
from tests.conftest import unused_port
from tests.sluice.processes import env, wait_until_up

UNIT = Path(__file__).parents[2] / "deploy" / "sluice.service"
INSTALLED = "/opt/sluice/venv/bin/sluice"
needs_systemd = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                   reason="systemd-analyze is absent (Debian's systemd package)")


def _settings(unit: str) -> dict[str, list[str]]:
    """The unit's settings, each key with every value it is given."""
    settings: dict[str, list[str]] = {}
    for line in unit.splitlines():
        key, equals, value = line.partition("=")
        if equals and not line.startswith("#"):
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def _here(tmp_path: Path) -> Path:
    """The unit with its program in this checkout's environment, as systemd checks that it exists."""
    unit = tmp_path / "sluice.service"
    unit.write_text(UNIT.read_text().replace(INSTALLED, str(Path(sys.executable).with_name("sluice"))))
    return unit


@needs_systemd
def test_the_unit_is_valid_as_systemd_reads_it(tmp_path):
    checked = subprocess.run(["systemd-analyze", "verify", str(_here(tmp_path))], capture_output=True, text=True)
    assert (checked.returncode, checked.stderr) == (0, "")


@needs_systemd
def test_the_unit_is_hardened(tmp_path):
    settings = _settings(UNIT.read_text())
    assert settings["User"] == ["sluice"] and settings["NoNewPrivileges"] == ["yes"]
    assert settings["ProtectSystem"] == ["strict"]
    assert settings["ReadWritePaths"] == ["/var/lib/sluice", "-/var/backups/sluice"]  # data dir, daily backups
    assert settings["Restart"] == ["on-failure"]
    report = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", str(_here(tmp_path))],
                            capture_output=True, text=True)
    exposure = float(re.search(r"Overall exposure level for sluice.service: ([\d.]+)", report.stdout).group(1))
    assert exposure <= 4.5, report.stdout  # systemd rates up to 4.9 "OK"; a default service is 9.6 "UNSAFE"


def test_the_units_command_serves_logs_what_it_runs_and_stops_cleanly_on_sigterm(tmp_path):
    public, internal = unused_port(), unused_port()
    config = tmp_path / "sluice.toml"
    config.write_text(f"""
[server]
host = "127.0.0.1"
public_port = {public}
internal_port = {internal}
[forwarder]
enabled = true
values = {{ utm_source = ["google"] }}
[[forwarder.signals]]
event = "appointment_request"
name = "Lead"
[[forwarder.destinations]]
type = "csv"
id = "mmm"
dimensions = ["utm_source"]
""")
    command = _settings(UNIT.read_text())["ExecStart"][0]
    command = command.replace(INSTALLED, str(Path(sys.executable).with_name("sluice")))
    command = command.replace("/etc/sluice/sluice.toml", str(config)).replace("/var/lib/sluice", str(tmp_path / "data"))
    process = subprocess.Popen([*shlex.split(command), "--dashboard-port", str(unused_port())], env=env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_up(f"http://127.0.0.1:{internal}/healthz", process)
        assert httpx.get(f"http://127.0.0.1:{internal}/healthz").json() == {"status": "ok", "warehouse": "ok"}
        assert httpx.get(f"http://127.0.0.1:{public}/healthz").status_code == 200
        process.send_signal(signal.SIGTERM)  # KillMode=mixed: the main process alone, which stops the rest
        _, err = process.communicate(timeout=float(_settings(UNIT.read_text())["TimeoutStopSec"][0]))
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    started = next(json.loads(line) for line in err.splitlines() if '"starting"' in line)
    assert started["version"] == version("sluice") and started["config"] == str(config)
    configured = load_config(config)
    assert started["policy_version"] == policy_version(configured.forwarder, opt_out_sites(configured.sites))
