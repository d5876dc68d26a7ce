"""POST /csp-report: browsers' violation reports, both forms, bounded, rate-limited, filed for the page's site."""

import json

import pytest
from litestar.testing import TestClient

from collector import public_app
from collector.settings import CollectorSettings, Site
from collector.spool import Spools, read_segment
from warehouse.trackers import Finding
from tests.conftest import CONSENT_KEY

LEGACY = {"csp-report": {"document-uri": "https://www.example-hospital.org/portal/appointments?patient=42",
                         "blocked-uri": "https://connect.facebook.net/en_US/fbevents.js",
                         "effective-directive": "script-src-elem"}}
REPORTING_API = [{"type": "csp-violation", "url": "https://www.example-hospital.org/portal",
                  "body": {"documentURL": "https://www.example-hospital.org/portal", "blockedURL": "https://bat.bing.com/bat.js",
                           "effectiveDirective": "script-src"}},
                 {"type": "csp-violation", "body": {"documentURL": "https://www.example-hospital.org/portal",
                                                    "blockedURL": "inline"}}]
SITES = [Site(id="main", origins=["https://www.example-hospital.org"])]


@pytest.fixture
def spools(tmp_path):
    return Spools.open(tmp_path / "spool", max_bytes=2**24, segment_records=1, segment_seconds=0.05)


@pytest.fixture
def client(spools):
    with TestClient(public_app(CollectorSettings(rate_limit="5/minute"), SITES, spools, CONSENT_KEY)) as client:
        yield client


def _filed(spools) -> list[Finding]:
    spools.tracker_findings.recover()
    return [row for segment in spools.tracker_findings.segments() for row in read_segment(segment, Finding)]


def test_both_report_forms_are_filed_for_the_pages_site_without_the_query(client, spools):
    legacy = client.post("/csp-report", content=json.dumps(LEGACY), headers={"content-type": "application/csp-report"})
    modern = client.post("/csp-report", content=json.dumps(REPORTING_API),
                         headers={"content-type": "application/reports+json"})
    assert (legacy.status_code, modern.status_code) == (202, 202) and modern.json() == {"accepted": 1}
    filed = _filed(spools)
    assert {(f.site, f.page, f.host, f.kind, f.source) for f in filed} == {
        ("main", "https://www.example-hospital.org/portal/appointments", "connect.facebook.net", "csp", "csp"),
        ("main", "https://www.example-hospital.org/portal", "bat.bing.com", "csp", "csp")}


@pytest.mark.parametrize(("body", "media_type", "status"), [
    (b"{not json", "application/csp-report", 400),
    (json.dumps({"csp-report": {"document-uri": "https://elsewhere.example/", "blocked-uri": "https://x.example/a"}}),
     "application/csp-report", 400),
    (json.dumps([{"type": "csp-violation"}] * 101), "application/reports+json", 400),
    (json.dumps(LEGACY), "text/html", 415),
    (b"[" + b'{"type": "x"},' * 6000 + b'{"type": "x"}]', "application/reports+json", 413),
])
def test_bad_reports_get_a_clear_4xx_and_nothing_is_filed(client, spools, body, media_type, status):
    answer = client.post("/csp-report", content=body, headers={"content-type": media_type})
    assert answer.status_code == status and answer.json()["error"]
    assert _filed(spools) == []


def test_reports_are_rate_limited_per_client(client):
    answers = [client.post("/csp-report", content=json.dumps(LEGACY), headers={"content-type": "application/csp-report"})
               for _ in range(7)]
    assert [a.status_code for a in answers].count(429) == 2 and "retry-after" in answers[-1].headers


def test_csp_findings_from_a_replayed_segment_are_stored_once(spools, client, warehouse):
    import asyncio

    from collector.writer import Writer

    client.post("/csp-report", content=json.dumps(LEGACY), headers={"content-type": "application/csp-report"})
    spools.tracker_findings.recover()
    (segment,) = spools.tracker_findings.segments()
    kept = segment.read_bytes()
    asyncio.run(Writer(spools, warehouse).load_ready())
    segment.write_bytes(kept)  # the crash came after the insert, before the segment was forgotten
    asyncio.run(Writer(spools, warehouse).load_ready())
    assert warehouse.client.command("SELECT count() FROM tracker_findings") == 1


@pytest.mark.parametrize("blocked", ["http://[evil/", "http://<b>click-here.example</b>/", "inline", "data:x"])
def test_a_blocked_address_that_is_no_host_is_not_filed_and_never_a_500(client, spools, blocked):
    report = {"csp-report": {"document-uri": "https://www.example-hospital.org/", "blocked-uri": blocked}}
    answer = client.post("/csp-report", content=json.dumps(report), headers={"content-type": "application/csp-report"})
    assert answer.status_code == 202 and answer.json() == {"accepted": 0}
    assert _filed(spools) == []


def test_a_page_is_kept_without_credentials_or_ids_in_its_path(client, spools):
    report = {"csp-report": {"document-uri": "https://jane:secret@www.example-hospital.org/patients/8812345/results",
                             "blocked-uri": "https://bat.bing.com/bat.js"}}
    client.post("/csp-report", content=json.dumps(report), headers={"content-type": "application/csp-report"})
    assert [f.page for f in _filed(spools)] == ["https://www.example-hospital.org/patients/*/results"]


def test_a_flood_of_made_up_hosts_files_only_the_hours_quota_and_known_hosts_still_go_in(spools):
    app = public_app(CollectorSettings(csp_hosts_per_hour=3), SITES, spools, CONSENT_KEY)

    def report(host: str) -> dict:
        return {"type": "csp-violation", "body": {"documentURL": "https://www.example-hospital.org/portal",
                                                  "blockedURL": f"https://{host}/x.js"}}

    with TestClient(app) as client:
        flood = [report(f"fake{n}.example") for n in range(50)]
        answer = client.post("/csp-report", content=json.dumps(flood), headers={"content-type": "application/reports+json"})
        again = client.post("/csp-report", content=json.dumps([report("fake1.example"), report("bat.bing.com")]),
                            headers={"content-type": "application/reports+json"})
    assert answer.status_code == again.status_code == 202 and answer.json() == {"accepted": 3}
    hosts = [finding.host for finding in _filed(spools)]
    assert sorted(set(hosts)) == ["fake0.example", "fake1.example", "fake2.example"]  # the real one waits an hour
    assert hosts.count("fake1.example") == 2  # a host within the quota is filed each time it is seen
