"""A warehouse with two days of demo traffic, fake ad platforms, and a forwarder between them."""

import json
from datetime import UTC, datetime, timedelta

import httpx
import msgspec
import pytest

from forwarder.budget import Privacy
from forwarder.release import release
from forwarder.runner import Forwarder
from forwarder.settings import ForwarderSettings
from collector.demo import recorded_choices
from tests.conftest import demo_database
from warehouse.conversions import Cell
from warehouse.events import encode_rows, insert_lines
from warehouse.visits import store_events

NOW = datetime.now(UTC)
YESTERDAY = datetime.combine(NOW.date() - timedelta(days=1), datetime.min.time(), tzinfo=UTC)
ENV = {"META_TOKEN": "meta-secret-token", "GA4_SECRET": "ga4secret", "TIKTOK_TOKEN": "tiktok-secret",
       "HOOK_SECRET": "hook-secret"}
POLICY = {
    # Exact mode, so that tests can read true counts; the release tests cover the default, noisy one.
    "epsilon": 0, "allow_exact": True,
    "signals": [{"event": "appointment_request", "name": "Lead"}, {"event": "contact_form", "name": "Contact"}],
    # What the demo's and these tests' links carry: the values that may leave.
    "values": {"utm_source": ["google", "facebook", "tiktok", "bing", "newsletter", "linkedin"],
               "utm_campaign": ["knee-replacement", "heart-health", "maternity-tours", "brand", "flu-shots",
                                "cancer-screening", "new-parents", "urgent-care", "monthly-health-tips",
                                "annual-checkup", "careers", "spring", "alpha", "beta", "gamma", "delta"]},
    "destinations": [
        {"type": "meta", "id": "meta", "dataset_id": "1234567890", "access_token_env": "META_TOKEN"},
        {"type": "ga4", "id": "ga4", "measurement_id": "G-TEST1234", "api_secret_env": "GA4_SECRET"},
        {"type": "tiktok", "id": "tiktok", "event_source_id": "CABCDEFGH12345", "access_token_env": "TIKTOK_TOKEN"},
        {"type": "webhook", "id": "hook", "url": "https://hooks.example-hospital.org/sluice", "secret_env": "HOOK_SECRET"},
        {"type": "csv", "id": "mmm"},
    ],
}


class Platforms:
    """Fake ad platforms: records every request and answers as each platform does."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.answers: list[httpx.Response] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answers:
            return self.answers.pop(0)
        if request.url.host == "graph.facebook.com":
            return httpx.Response(200, json={"events_received": len(json.loads(request.content)["data"])})
        if request.url.host == "business-api.tiktok.com":
            return httpx.Response(200, json={"code": 0, "message": "OK"})
        return httpx.Response(204 if request.url.host == "www.google-analytics.com" else 200)

    def to(self, host: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.host == host]


@pytest.fixture(scope="module")
def traffic(engine_path):
    """Two days of demo traffic, shared by the module's tests; each empties the outbox after itself."""
    with demo_database(engine_path, 40_000, days=2, site="main", seed=11) as warehouse:
        yield warehouse


@pytest.fixture
def clean(traffic):
    """The shared traffic with an empty outbox and audit log, restored after the test."""
    yield traffic
    traffic.client.command("TRUNCATE TABLE outbox")


@pytest.fixture
def platforms() -> Platforms:
    return Platforms()


def store(warehouse, rows: list, token: str) -> None:
    """Store events, and the choice each visitor recorded on the banner before them, as their consent says."""
    insert_lines(warehouse.client, "consent", encode_rows(recorded_choices(rows)), token=f"{token}-consent")
    store_events(warehouse.client, encode_rows(rows), token=token)


def attacker_accuracy(privacy: Privacy, fakes: Cell, padded: Cell, trials: int) -> dict[str, float]:
    """How often an attacker who scripted the visitors of `fakes` guesses right whether one patient is in the cell
    too (`padded`: the fakes and her), by three tests: the cell is released with more visitors than the fakes,
    with more conversions, or with more of both together."""
    tests = {"visitors": lambda d: d.visitors > fakes.visitors,
             "conversions": lambda d: d.conversions > fakes.conversions,
             "both": lambda d: d.visitors + d.conversions > fakes.visitors + fakes.conversions}
    right = dict.fromkeys(tests, 0)
    for cell in (fakes, padded) * trials:
        (decision,) = release([cell], lambda signal: privacy)
        for name, test in tests.items():
            right[name] += (decision.released and test(decision)) == (cell is padded)
    return {name: count / (2 * trials) for name, count in right.items()}


def settings(**changes) -> ForwarderSettings:
    return msgspec.convert(POLICY | changes, ForwarderSettings)


@pytest.fixture
def make_forwarder(clean, platforms, tmp_path):
    def make(policy: ForwarderSettings | None = None, **kwargs) -> Forwarder:
        options = {"http": httpx.Client(transport=httpx.MockTransport(platforms)), "env": ENV,
                   "clock": lambda: NOW} | kwargs
        return Forwarder(clean, policy or settings(), tmp_path / "exports", **options)

    return make
