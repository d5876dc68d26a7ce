"""Each adapter's requests keep to its platform's documented shape and limits, and read its answers right."""

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from forwarder.adapters.base import Item
from forwarder.adapters.csvfile import CsvAdapter
from forwarder.adapters.ga4 import Ga4Adapter
from forwarder.adapters.meta import MetaAdapter
from forwarder.adapters.tiktok import TikTokAdapter
from forwarder.adapters.webhook import WebhookAdapter, signature
from forwarder.settings import (
    CsvDestination, Ga4Destination, MetaDestination, TikTokDestination, WebhookDestination,
)

START = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
META = MetaAdapter(MetaDestination(id="m", dataset_id="123", access_token_env="T"), "tok")
GA4 = Ga4Adapter(Ga4Destination(id="g", measurement_id="G-ABC123", api_secret_env="S"), "sec")
TIKTOK = TikTokAdapter(TikTokDestination(id="t", event_source_id="CABCDEFGH1", access_token_env="T"), "tok")
HOOK = WebhookAdapter(WebhookDestination(id="w", url="https://hooks.example/in", secret_env="S"), "shh",
                      clock=lambda: 1_800_000_000)


def _items(n: int = 3, signal: str = "Lead") -> list[Item]:
    return [Item(key=f"{i:032x}", signal=signal, window_start=START, window_end=START + timedelta(days=1),
                 dimensions={"utm_source": "google", "utm_campaign": f"c{i}" + "x" * 150}, visitors=11 + i,
                 conversions=12 + i, value=10.5 * i) for i in range(n)]


def _answer(adapter, response: httpx.Response):
    client = httpx.Client(transport=httpx.MockTransport(lambda request: response))
    return adapter.deliver(adapter.build(_items(1)), client)


def test_meta_events_carry_every_required_field_within_limits():
    assert META.batch_size <= 1000
    body = json.loads(META.build(_items()).body)
    for event in body["data"]:
        assert {"event_name", "event_time", "event_id", "action_source", "user_data"} <= event.keys()
        assert event["action_source"] in {"email", "website", "app", "phone_call", "chat", "physical_store",
                                          "system_generated", "other"}
        assert datetime.now(UTC).timestamp() - event["event_time"] <= 7 * 86400
        assert re.fullmatch(r"[0-9a-f]{64}", event["user_data"]["external_id"][0])  # a hash, as Meta asks
        assert "event_source_url" not in event and "client_user_agent" not in event


@pytest.mark.parametrize(("status", "error", "retryable"), [
    (500, {"code": 2, "message": "Service temporarily unavailable"}, True),
    (400, {"code": 17, "message": "User request limit reached"}, True),
    (400, {"code": 4, "message": "Application request limit reached"}, True),
    (400, {"code": 100, "message": "Invalid parameter"}, False),
    (400, {"code": 190, "message": "Invalid OAuth access token"}, False),
])
def test_meta_retries_only_what_meta_calls_transient(status, error, retryable):
    outcome = _answer(META, httpx.Response(status, json={"error": error}))
    assert not outcome.ok and outcome.retryable is retryable and str(error["code"]) in outcome.reason
    assert _answer(META, httpx.Response(200, json={"events_received": 1})).ok


def test_ga4_requests_keep_to_the_measurement_protocol_limits():
    for item in _items():
        request = GA4.build([item])
        body = json.loads(request.body)
        assert len(request.body) < 130_000 and len(body["events"]) <= 25
        assert re.fullmatch(r"\d+\.\d+", body["client_id"])
        for event in body["events"]:
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,39}", event["name"])
            assert len(event["params"]) <= 25
            assert all(len(str(value)) <= 100 for value in event["params"].values())
        assert datetime.now(UTC).timestamp() * 1e6 - body["timestamp_micros"] <= 72 * 3600 * 1e6


def test_ga4_cannot_tell_a_bad_payload_so_only_transport_and_5xx_are_retried():
    assert _answer(GA4, httpx.Response(204)).ok
    assert _answer(GA4, httpx.Response(503)).retryable
    assert not _answer(GA4, httpx.Response(403)).retryable


def test_tiktok_success_is_body_code_0_not_http_200():
    body = json.loads(TIKTOK.build(_items()).body)
    assert body["event_source"] and body["event_source_id"] and len(body["data"]) <= TIKTOK.batch_size
    assert all({"event", "event_time", "event_id", "user"} <= e.keys() for e in body["data"])
    assert _answer(TIKTOK, httpx.Response(200, json={"code": 0, "message": "OK"})).ok
    refused = _answer(TIKTOK, httpx.Response(200, json={"code": 40002, "message": "Invalid parameter"}))
    assert not refused.ok and not refused.retryable and "40002" in refused.reason
    assert _answer(TIKTOK, httpx.Response(200, json={"code": 40100, "message": "Too many requests"})).retryable


def test_a_webhook_receiver_verifies_the_documented_signature():
    request = HOOK.build(_items())
    timestamp = request.headers["sluice-timestamp"]
    expected = "v1=" + hmac.new(b"shh", timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["sluice-signature"], expected)
    assert signature("shh", timestamp, request.body) == expected
    assert _answer(HOOK, httpx.Response(429, headers={"retry-after": "30"})).retry_after == 30
    assert not _answer(HOOK, httpx.Response(410)).retryable


def test_a_network_failure_is_retried():
    def down(request):
        raise httpx.ConnectError("refused")

    outcome = META.deliver(META.build(_items(1)), httpx.Client(transport=httpx.MockTransport(down)))
    assert not outcome.ok and outcome.retryable


def test_the_csv_file_is_date_by_dimensions_with_conversions_and_value(tmp_path):
    adapter = CsvAdapter(CsvDestination(id="mmm"), tmp_path)
    request = adapter.build(_items())
    assert adapter.deliver(request, httpx.Client()).ok
    (written,) = list((tmp_path / "mmm").glob("*.csv"))
    lines = written.read_text().splitlines()
    assert lines[0] == "date,signal,utm_source,utm_medium,utm_campaign,utm_content,site,device_type,conversions,value"
    assert lines[1].startswith(f"{START.date()},Lead,google,,c0") and len(lines) == 4
