"""A real rsyslog daemon on loopback, as a SIEM's collector: it writes each message it takes to a file."""

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import unused_port

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
FIELDS = "%timereported:::date-rfc3339%|%hostname%|%app-name%|%msgid%|%structured-data%|%msg%"


def need_rsyslog() -> None:
    if not Path(RSYSLOGD).exists():
        pytest.skip("rsyslog is not installed (Debian: apt install rsyslog rsyslog-openssl)")


class Syslog:
    def __init__(self, directory: Path, port: int) -> None:
        self.directory, self.port = directory, port
        self.received = directory / "received.log"

    def messages(self, count: int, seconds: float = 10) -> list[list[str]]:
        """The first `count` messages received (each split into its fields), waiting for them to arrive."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            lines = self.received.read_text().splitlines() if self.received.exists() else []
            if len(lines) >= count:
                return [line.split("|", 5) for line in lines]
            time.sleep(0.1)
        raise AssertionError(f"rsyslog received {len(lines)} messages, not {count}")


@contextmanager
def rsyslog(directory: Path, tls: tuple[Path, Path, Path] | None = None) -> Iterator[Syslog]:
    """rsyslogd in the foreground on a free loopback port; `tls`: CA, certificate and key files (TLS only)."""
    need_rsyslog()
    directory.mkdir(parents=True, exist_ok=True)
    running = Syslog(directory, unused_port())
    driver = ""
    if tls:
        ca, cert, key = tls
        driver = (f' defaultNetstreamDriver="ossl" defaultNetstreamDriverCAFile="{ca}" '
                  f'defaultNetstreamDriverCertFile="{cert}" defaultNetstreamDriverKeyFile="{key}"')
    tcp = ' StreamDriver.Name="ossl" StreamDriver.Mode="1" StreamDriver.AuthMode="anon"' if tls else ""
    config = directory / "rsyslog.conf"
    config.write_text(f"""global(workDirectory="{directory}"{driver})
module(load="imtcp"{tcp})
input(type="imtcp" port="{running.port}" address="127.0.0.1")
template(name="fields" type="string" string="{FIELDS}\\n")
*.* action(type="omfile" file="{running.received}" template="fields")
""")
    process = subprocess.Popen([RSYSLOGD, "-n", "-f", str(config), "-i", str(directory / "rsyslogd.pid")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(running.port, process)
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def wait_for_port(port: int, process: subprocess.Popen) -> None:
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{Path(process.args[0]).name} exited: {process.stdout.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{Path(process.args[0]).name} never listened on port {port}")
