"""The audit log streamed to a real syslog daemon (plain TCP and TLS) and to JSON lines, at least once."""

import json

import pytest
import trustme

from tests.conftest import unused_port
from tests.syslog import rsyslog
from warehouse.audit_stream import STREAM_LAG, AuditStream, JsonLinesSink, StreamError, SyslogSink, rfc5424
from warehouse.settings import SyslogSettings


def _record(warehouse, count: int, outcome: str = "success") -> None:
    for n in range(count):
        warehouse.audit.record("user:mia", "report.read", f"/api/reports/{n}", outcome=outcome, detail={"rows": n})


def test_entries_reach_rsyslog_as_rfc5424_with_their_chain_number_and_signature(warehouse, tmp_path):
    _record(warehouse, 2)
    _record(warehouse, 1, outcome="denied")
    with rsyslog(tmp_path / "syslog") as syslog:
        sink = SyslogSink(SyslogSettings(host="127.0.0.1", port=syslog.port), "sluice-host")
        assert AuditStream(warehouse.audit, [sink], tmp_path / "cursor.json").push() == 4
        messages = syslog.messages(4)
    stored = list(warehouse.audit.entries())
    for (time, host, app, msgid, data, body), entry in zip(messages, stored, strict=True):
        assert (host, app, msgid) == ("sluice-host", "sluice", entry.action)
        assert f'chain="main" seq="{entry.seq}" outcome="{entry.outcome}"' in data
        assert json.loads(body)["hash"] == entry.hash and time.startswith(entry.time.strftime("%Y-%m-%dT%H:%M:%S"))


def test_the_priority_says_authpriv_and_notice_for_refusals(warehouse):
    _record(warehouse, 1, outcome="denied")
    refused = list(warehouse.audit.entries())[-1]
    assert rfc5424(refused, "h").startswith(b"<85>1 ")  # facility 10 (authpriv) * 8 + notice
    assert rfc5424(list(warehouse.audit.entries())[0], "h").startswith(b"<86>1 ")


def test_entries_reach_rsyslog_over_tls_checked_against_the_organisations_ca(warehouse, tmp_path):
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    files = [tmp_path / name for name in ("ca.pem", "cert.pem", "key.pem")]
    ca.cert_pem.write_to_path(str(files[0]))
    server.cert_chain_pems[0].write_to_path(str(files[1]))
    server.private_key_pem.write_to_path(str(files[2]))
    _record(warehouse, 2)
    with rsyslog(tmp_path / "syslog", tls=tuple(files)) as syslog:
        trusted = SyslogSettings(host="127.0.0.1", port=syslog.port, tls=True, ca_file=str(files[0]))
        assert AuditStream(warehouse.audit, [SyslogSink(trusted, "h")], tmp_path / "cursor.json").push() == 3
        assert len(syslog.messages(3)) == 3
        untrusted = SyslogSettings(host="127.0.0.1", port=syslog.port, tls=True)  # the system's CAs only
        with pytest.raises(StreamError, match="CERTIFICATE_VERIFY_FAILED"):
            AuditStream(warehouse.audit, [SyslogSink(untrusted, "h")], tmp_path / "other.json").push()


def test_a_receiver_that_is_down_gets_the_entries_when_it_is_back_and_a_restart_resumes(warehouse, tmp_path):
    cursors = tmp_path / "cursor.json"
    down = SyslogSettings(host="127.0.0.1", port=unused_port())
    with pytest.raises(StreamError, match="did not take the audit entries"):
        AuditStream(warehouse.audit, [SyslogSink(down, "h")], cursors).push()
    assert STREAM_LAG.labels("syslog")._value.get() == 1
    _record(warehouse, 2)
    with rsyslog(tmp_path / "syslog") as syslog:
        up = SyslogSettings(host="127.0.0.1", port=syslog.port)
        assert AuditStream(warehouse.audit, [SyslogSink(up, "h")], cursors).push() == 3  # nothing was lost
        _record(warehouse, 1)
        # A new process (a restart) reads the cursor and sends only what is new.
        assert AuditStream(warehouse.audit, [SyslogSink(up, "h")], cursors).push() == 1
        seqs = [int(data.split('seq="')[1].split('"')[0]) for *_, data, _ in syslog.messages(4)]
    assert seqs == [1, 2, 3, 4] and STREAM_LAG.labels("syslog")._value.get() == 0


def test_entries_are_appended_to_a_json_lines_file_once_each(warehouse, tmp_path):
    _record(warehouse, 2)
    stream = AuditStream(warehouse.audit, [JsonLinesSink(tmp_path / "audit.jsonl")], tmp_path / "cursor.json")
    assert stream.push() == 3 and stream.push() == 0
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3] and lines[1]["actor"] == "user:mia"
