"""Consent binds at dispatch: a choice recorded after a conversion, before its window is sent, decides."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import msgspec

from collector.enrich import Consent, Visit, enrich
from collector.wire import WireEvent
from forwarder.runner import Forwarder
from tests.forwarder.conftest import ENV, NOW, YESTERDAY, Platforms, settings
from warehouse.events import ConsentRow, encode_rows, insert_lines
from warehouse.outbox import Outbox, State
from warehouse.visits import store_events

PATIENTS = 12


def _journey(n: int) -> list:
    at = YESTERDAY + timedelta(hours=9, minutes=n)
    visit = Visit(received_at=at, client_ip="198.51.100.7", user_agent="Mozilla/5.0", visitor_id=uuid.UUID(int=n + 1),
                  session_id=uuid.UUID(int=5_000 + n), consent=Consent(analytics=True, ads=True))
    landing = "https://www.example-hospital.org/knee?utm_source=google&utm_medium=cpc&utm_campaign=knee"
    return [enrich(WireEvent(site="main", name="pageview", url=landing), visit),
            enrich(WireEvent(site="main", name="appointment_request", url=landing), visit)]


def _choose(warehouse, n: int, ads: bool, after: timedelta) -> None:
    row = ConsentRow(site="main", visitor_id=uuid.UUID(int=n + 1), recorded_at=YESTERDAY + timedelta(hours=9) + after,
                     analytics=True, ads=ads, policy_version="1", source="banner")
    insert_lines(warehouse.client, "consent", encode_rows([row]), token=f"consent-{n}-{ads}-{after}")


def _policy():
    return settings(signals=[{"event": "appointment_request", "name": "Lead"}],
                    destinations=[{"type": "csv", "id": "mmm", "dimensions": ["utm_campaign"]}],
                    patterns={"utm_campaign": "^knee$"})


def _knee_cell(warehouse, tmp_path, opt_out_sites: frozenset[str] = frozenset()) -> tuple[int, bool]:
    """The knee campaign's cell in a dry run of yesterday: its visitors and whether it would be released."""
    forwarder = Forwarder(warehouse, _policy(),
                          tmp_path / "exports", http=httpx.Client(transport=httpx.MockTransport(Platforms())),
                          env=ENV, clock=lambda: NOW, opt_out_sites=opt_out_sites)
    decisions = forwarder.run(window=YESTERDAY, dry_run=True).decisions[YESTERDAY]
    if not decisions:
        return 0, False
    (decision,) = decisions
    assert decision.cell.dimensions == {"utm_campaign": "knee"}
    return decision.cell.visitors, decision.released


def _patients(warehouse) -> None:
    """Twelve patients who each accepted ads on the banner, then followed the knee campaign and converted."""
    for n in range(PATIENTS):
        _choose(warehouse, n, ads=True, after=timedelta(0))
    store_events(warehouse.client, encode_rows([e for n in range(PATIENTS) for e in _journey(n)]), token="knee")


def test_a_withdrawal_after_converting_and_before_dispatch_takes_the_visitor_out(warehouse, tmp_path):
    _patients(warehouse)
    assert _knee_cell(warehouse, tmp_path) == (12, True)
    _choose(warehouse, 0, ads=False, after=timedelta(days=1))  # the patient changes their mind the next day
    assert _knee_cell(warehouse, tmp_path) == (11, True)
    _choose(warehouse, 1, ads=False, after=timedelta(hours=2))
    assert _knee_cell(warehouse, tmp_path) == (10, False)  # under k = 11: suppressed


def test_a_grant_given_again_after_a_withdrawal_counts(warehouse, tmp_path):
    _patients(warehouse)
    _choose(warehouse, 0, ads=False, after=timedelta(hours=1))
    _choose(warehouse, 0, ads=True, after=timedelta(hours=2))
    assert _knee_cell(warehouse, tmp_path) == (12, True)


def test_of_two_choices_at_one_instant_the_refusal_holds(warehouse, tmp_path):
    _patients(warehouse)
    _choose(warehouse, 1, ads=True, after=timedelta(hours=3))
    _choose(warehouse, 1, ads=False, after=timedelta(hours=3))
    assert _knee_cell(warehouse, tmp_path) == (11, True)


def test_a_withdrawal_after_the_cells_were_computed_and_before_they_are_sent_keeps_them_home(warehouse, tmp_path):
    _patients(warehouse)
    platforms = Platforms()
    forwarder = Forwarder(warehouse, _policy(), tmp_path / "exports",
                          http=httpx.Client(transport=httpx.MockTransport(platforms)), env=ENV, clock=lambda: NOW)
    forwarder.prepare(YESTERDAY)  # computed with all twelve: the platform was down, say, and a retry is due
    row = ConsentRow(site="main", visitor_id=uuid.UUID(int=1), recorded_at=datetime.now(UTC) + timedelta(seconds=1),
                     analytics=True, ads=False, policy_version="1", source="banner")
    insert_lines(warehouse.client, "consent", encode_rows([row]), token="late-withdrawal")
    run = forwarder.run(window=YESTERDAY)
    assert platforms.requests == [] and not list((tmp_path / "exports").rglob("*.csv"))
    assert run.outcomes == {"suppressed": 1}
    (record,) = Outbox(warehouse.client).current()
    assert record.state == State.SUPPRESSED and "refused ads consent after it was prepared" in record.reason


def test_conversions_stored_without_analytics_consent_never_count_even_with_ads_consent(warehouse, tmp_path):
    _patients(warehouse)
    anonymous = Visit(received_at=YESTERDAY + timedelta(hours=10), client_ip="198.51.100.7", user_agent="Mozilla/5.0",
                      visitor_id=uuid.uuid4(), session_id=uuid.uuid4(), consent=Consent(analytics=False, ads=True))
    landing = "https://www.example-hospital.org/knee?utm_source=google&utm_medium=cpc&utm_campaign=knee"
    extra = [enrich(WireEvent(site="main", name=name, url=landing), anonymous)
             for _ in range(5) for name in ("pageview", "appointment_request")]
    store_events(warehouse.client, encode_rows(extra), token="anonymous")
    assert _knee_cell(warehouse, tmp_path) == (12, True)  # the twelve patients, and no 'visitor' made of nobody


def test_on_an_opt_in_site_only_a_recorded_grant_counts_whatever_the_event_says(warehouse, tmp_path):
    # Events stamped with ads consent, and no choice on record: a scripted client that claims consent.
    store_events(warehouse.client, encode_rows([e for n in range(PATIENTS) for e in _journey(n)]), token="knee")
    assert _knee_cell(warehouse, tmp_path) == (0, False)
    assert _knee_cell(warehouse, tmp_path, opt_out_sites=frozenset({"main"})) == (12, True)  # opt-out: consent until refused
    for n in range(11):
        _choose(warehouse, n, ads=True, after=timedelta(0))
    assert _knee_cell(warehouse, tmp_path) == (11, True)


def test_a_conversion_without_a_page_view_before_it_in_its_session_does_not_count(warehouse, tmp_path):
    _patients(warehouse)
    bare = []
    for n in range(PATIENTS, PATIENTS + 3):  # conversions posted straight to /collect, no page ever loaded
        _choose(warehouse, n, ads=True, after=timedelta(0))
        bare.append(_journey(n)[1])
    late = _journey(PATIENTS + 3)  # a page view after the conversion does not make it a person's
    _choose(warehouse, PATIENTS + 3, ads=True, after=timedelta(0))
    late[0] = msgspec.structs.replace(late[0], timestamp=late[1].timestamp + timedelta(seconds=5))
    borrowed = _journey(PATIENTS + 4)  # another visitor's page view in the same session does not count either
    _choose(warehouse, PATIENTS + 4, ads=True, after=timedelta(0))
    borrowed[0] = msgspec.structs.replace(borrowed[0], visitor_id=uuid.UUID(int=999))
    store_events(warehouse.client, encode_rows(bare + late + borrowed), token="bare")
    assert _knee_cell(warehouse, tmp_path) == (12, True)
