"""Scans are stored with what changed since the last one; a new host that is not allowed is announced once."""

import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import msgspec
import pytest

from scanner.alerts import alert_new_hosts
from scanner.report import tracker_hosts
from scanner.scan import scan_site
from scanner.settings import ScannerSettings
from scanner.store import record
from tests.scanner.conftest import settings
from warehouse.trackers import Finding, Trackers


@pytest.fixture
def receiver():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received.append(({k.lower(): v for k, v in self.headers.items()},
                             self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts", received
    server.shutdown()
    server.server_close()


def _scan(site, policy):
    with httpx.Client() as http:
        return scan_site(policy.targets[0], policy, http)


def test_each_scan_says_what_is_new_and_what_went_away(site, warehouse):
    policy = settings(site)
    first = record(_scan(site, policy), policy, warehouse)
    assert len(first.new) == 7 and first.gone == []  # by page and host: the pixel script and its inline tag are one
    site.pages["/hidden"] = "<html><body>no more pixel</body></html>"
    site.pages["/services"] += '<script src="https://static.hotjar.com/c/hotjar-1.js"></script>'
    second = record(_scan(site, policy), policy, warehouse)
    assert [(page.removeprefix(site.url), host) for page, host, _ in second.new] == [
        ("/services", "static.hotjar.com")]
    assert [(page.removeprefix(site.url), host) for page, host, _ in second.gone] == [
        ("/hidden", "analytics.tiktok.com")]


def test_a_new_host_not_allowed_is_alerted_once_by_a_signed_webhook(site, warehouse, receiver, monkeypatch):
    url, received = receiver
    monkeypatch.setenv("SLUICE_TEST_ALERT_SECRET", "alert-secret")
    policy = settings(site, alert_webhook_url=url, alert_secret_env="SLUICE_TEST_ALERT_SECRET")
    record(_scan(site, policy), policy, warehouse)
    alerted = {json.loads(body)["host"] for _, body in received}
    assert alerted == {"connect.facebook.net", "www.facebook.com", "bat.bing.com", "google-analytics.com",
                       "www.googletagmanager.com", "analytics.tiktok.com"}  # not the allowed CDN
    headers, body = received[0]
    mac = hmac.new(b"alert-secret", headers["sluice-timestamp"].encode() + b"." + body, hashlib.sha256)
    assert headers["sluice-signature"] == "v1=" + mac.hexdigest()
    record(_scan(site, policy), policy, warehouse)
    assert len(received) == 6  # once per host and site


def test_an_alert_webhook_without_a_secret_is_refused_and_one_whose_secret_is_unset_sends_nothing(
        site, warehouse, receiver, monkeypatch):
    url, received = receiver
    with pytest.raises(msgspec.ValidationError, match="alert_webhook_url needs alert_secret_env"):
        settings(site, alert_webhook_url=url)
    monkeypatch.delenv("SLUICE_TEST_ALERT_SECRET", raising=False)
    policy = settings(site, alert_webhook_url=url, alert_secret_env="SLUICE_TEST_ALERT_SECRET")
    record(_scan(site, policy), policy, warehouse)
    assert received == []  # never signed with an empty key
    monkeypatch.setenv("SLUICE_TEST_ALERT_SECRET", "alert-secret")
    record(_scan(site, policy), policy, warehouse)
    assert len(received) == 6  # the alerts were kept for when the secret is there


def test_compliance_sees_each_host_with_vendor_allowance_and_baa(site, warehouse):
    policy = settings(site)
    record(_scan(site, policy), policy, warehouse)
    hosts = {h.host: h for h in tracker_hosts(Trackers(warehouse.client), policy)}
    cdn = hosts["fonts.allowed-cdn.example"]
    assert cdn.allowed and str(cdn.baa_signed) == "2025-03-01"
    meta = hosts["connect.facebook.net"]
    assert (meta.vendor, meta.allowed, meta.new) == ("Meta Pixel", False, True)
    assert meta.kinds == ["inline", "script"] and meta.sources == ["scan"]
    assert msgspec.json.encode(list(hosts.values()))  # what the API answers


def test_an_upload_that_is_not_a_scan_is_refused_with_400(warehouse):
    from litestar.testing import TestClient

    from api import internal_app

    with TestClient(internal_app(warehouse, "ops")) as client:
        answer = client.post("/api/ops/scans", json={"scan": {"site": 1}}, headers={"authorization": "Bearer ops"})
    assert answer.status_code == 400 and "validation failed" in answer.json()["detail"].lower()
    assert warehouse.client.command("SELECT count() FROM tracker_scans") == 0


def test_a_flood_of_unknown_hosts_is_summarised_while_a_known_tracker_is_announced_alone(warehouse, receiver,
                                                                                          monkeypatch):
    url, received = receiver
    monkeypatch.setenv("SLUICE_TEST_ALERT_SECRET", "alert-secret")
    policy = msgspec.convert({"alert_webhook_url": url, "alert_secret_env": "SLUICE_TEST_ALERT_SECRET",
                              "alert_summary_after": 5}, ScannerSettings)
    now = datetime.now(UTC)
    Trackers(warehouse.client).record(
        [Finding(scan_id="", site="main", page="/", host=host, vendor="", kind="csp", source="csp", seen_at=now)
         for host in ["connect.facebook.net", *(f"x{n}.flood.example" for n in range(12))]], token="flood")
    with httpx.Client() as http:
        alerts = alert_new_hosts(Trackers(warehouse.client), policy, http, {"SLUICE_TEST_ALERT_SECRET": "s"})
        again = alert_new_hosts(Trackers(warehouse.client), policy, http, {"SLUICE_TEST_ALERT_SECRET": "s"})
    assert [(a.host, a.vendor) for a in alerts] == [("connect.facebook.net", "Meta Pixel"), ("", "")]
    assert alerts[1].message.startswith("12 unknown third parties appeared on site 'main'")
    assert alerts[1].message.endswith("and 2 more (see Website trackers)")
    assert len(received) == 2 and again == []  # each host is announced once, in the summary or alone


def test_a_few_unknown_hosts_are_still_announced_one_by_one(warehouse, receiver):
    url, received = receiver
    policy = msgspec.convert({"alert_webhook_url": url, "alert_secret_env": "S", "alert_summary_after": 5},
                             ScannerSettings)
    Trackers(warehouse.client).record(
        [Finding(scan_id="", site="main", page="/", host=f"x{n}.example", vendor="", kind="csp", source="csp",
                 seen_at=datetime.now(UTC)) for n in range(3)], token="few")
    with httpx.Client() as http:
        alerts = alert_new_hosts(Trackers(warehouse.client), policy, http, {"S": "s"})
    assert sorted(a.host for a in alerts) == ["x0.example", "x1.example", "x2.example"] and len(received) == 3


def test_a_scan_dated_outside_2000_to_2200_is_refused_with_400_and_nothing_stored(warehouse):
    from litestar.testing import TestClient

    from api import internal_app

    scan = {"scan_id": "s1", "site": "main", "mode": "static", "started_at": "0305-01-01T00:00:00Z",
            "finished_at": "2026-12-01T00:00:00Z", "pages": 1}
    with TestClient(internal_app(warehouse, "ops")) as client:
        answer = client.post("/api/ops/scans", json={"scan": scan, "findings": []},
                             headers={"authorization": "Bearer ops"})
    assert answer.status_code == 400 and "between 2000 and 2200" in answer.text
    assert warehouse.client.command("SELECT count() FROM tracker_scans") == 0
