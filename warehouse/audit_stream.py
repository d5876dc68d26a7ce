"""The audit log streamed to the organisation's SIEM: RFC 5424 syslog over TCP (or TLS), and JSON lines.

Each process streams the chain it writes, at least once: a sink's cursor (the last entry it took, per
chain) is kept in a file beside the anchors and moved only after the sink has the entries, so a restart
resumes where it stopped and a failure sends the same entries again (the SIEM can tell repeats by chain
and number). With the entries' signatures off the box, rows later cut or rewritten in the warehouse show.
"""

import json
import os
import socket
import ssl
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path
from typing import Protocol

import msgspec
from prometheus_client import Gauge

from warehouse.anchors import append_synced
from warehouse.audit import AuditEntry, AuditLog
from warehouse.errors import WarehouseError
from warehouse.settings import SyslogSettings

_BATCH = 500
_FACILITY = 10  # authpriv: security and authorization messages
_SEVERITY = {"success": 6, "denied": 5, "failure": 5}  # informational; notice for refusals and failures
_SD_ID = "sluice@32473"  # 32473: the enterprise number RFC 5424 reserves for examples and private use

STREAM_LAG = Gauge("sluice_audit_stream_lag_entries", "Audit entries of this process's chain not yet in a sink.",
                   ["sink"])


class StreamError(WarehouseError):
    """A sink did not take the audit entries; they are sent again at the next push."""


class Sink(Protocol):
    name: str

    def send(self, entries: Sequence[AuditEntry]) -> None: ...


class SyslogSink:
    """RFC 5424 messages, octet-counted (RFC 6587) over one TCP or TLS connection per push."""

    name = "syslog"

    def __init__(self, settings: SyslogSettings, hostname: str) -> None:
        self._settings = settings
        self._hostname = hostname or "-"
        self._tls = ssl.create_default_context(cafile=settings.ca_file or None) if settings.tls else None
        if self._tls:
            self._tls.minimum_version = ssl.TLSVersion.TLSv1_2

    def send(self, entries: Sequence[AuditEntry]) -> None:
        frames = b"".join(_framed(rfc5424(entry, self._hostname, self._settings.app_name)) for entry in entries)
        address = (self._settings.host, self._settings.port)
        try:
            with socket.create_connection(address, timeout=10) as raw:
                if self._tls:
                    with self._tls.wrap_socket(raw, server_hostname=self._settings.host) as tls:
                        tls.sendall(frames)
                else:
                    raw.sendall(frames)
        except OSError as exc:
            raise StreamError(f"syslog at {address[0]}:{address[1]} did not take the audit entries: {exc}") from None


class JsonLinesSink:
    """One JSON object per entry, appended to a file and synced."""

    name = "jsonl"

    def __init__(self, path: Path) -> None:
        self._path = path

    def send(self, entries: Sequence[AuditEntry]) -> None:
        try:
            append_synced(self._path, b"".join(msgspec.json.encode(entry) + b"\n" for entry in entries))
        except OSError as exc:
            raise StreamError(f"cannot append the audit entries to {self._path}: {exc.strerror}") from None


def rfc5424(entry: AuditEntry, hostname: str, app_name: str = "sluice") -> bytes:
    """One entry as an RFC 5424 message: its action as MSGID, chain, number and outcome as structured data."""
    priority = _FACILITY * 8 + _SEVERITY.get(entry.outcome, 5)
    timestamp = entry.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    data = {"chain": entry.chain, "seq": str(entry.seq), "outcome": entry.outcome, "actor": entry.actor}
    params = " ".join(f'{name}="{_sd_escape(value)}"' for name, value in data.items())
    body = json.dumps(msgspec.to_builtins(entry), ensure_ascii=False, separators=(",", ":"))
    msgid = _printable(entry.action)[:32] or "-"
    return f"<{priority}>1 {timestamp} {_printable(hostname)[:255]} {_printable(app_name)[:48]} - {msgid} " \
           f"[{_SD_ID} {params}] {body}".encode()


def _framed(message: bytes) -> bytes:
    return str(len(message)).encode() + b" " + message


def _sd_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _printable(value: str) -> str:
    return "".join(c for c in value if 33 <= ord(c) <= 126)


class AuditStream:
    """Pushes this process's chain to each sink from where that sink's cursor stands."""

    def __init__(self, audit: AuditLog, sinks: Sequence[Sink], cursors: Path) -> None:
        self._audit = audit
        self._sinks = sinks
        self._cursors = cursors

    def push(self) -> int:
        """Send every entry each sink lacks; return how many entries went out in all. Raises if a sink failed."""
        cursors, sent, failures = self._read(), 0, []
        for sink in self._sinks:
            after = cursors.get(sink.name, {}).get(self._audit.chain, 0)
            while entries := self._audit.after(after, _BATCH):
                try:
                    sink.send(entries)
                except StreamError as exc:
                    failures.append(str(exc))
                    break
                after, sent = entries[-1].seq, sent + len(entries)
                cursors.setdefault(sink.name, {})[self._audit.chain] = after
                self._write(cursors)
            STREAM_LAG.labels(sink.name).set(max(self._audit.head()[0] - after, 0))
        if failures:
            raise StreamError("; ".join(failures))
        return sent

    def _read(self) -> dict[str, dict[str, int]]:
        """The cursors; a file that is gone or unreadable starts every sink over (at least once, not at most)."""
        try:
            cursors = json.loads(self._cursors.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return cursors if isinstance(cursors, dict) else {}

    def _write(self, cursors: dict) -> None:
        made = self._cursors.with_name(f".{self._cursors.name}.{os.getpid()}")
        try:
            with made.open("w") as file:
                file.write(json.dumps(cursors, sort_keys=True))
                file.flush()
                os.fsync(file.fileno())
            os.replace(made, self._cursors)
        except OSError as exc:
            raise StreamError(f"cannot keep the audit stream's place in {self._cursors}: {exc.strerror}") from None
