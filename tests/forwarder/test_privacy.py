"""Nothing identifying leaves: canaries in every free-text field stay home, small cells stay home."""

import csv
import io
import json
import math
import uuid
from datetime import timedelta
from urllib.parse import quote

import httpx
import msgspec
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from collector.enrich import Consent, Visit, enrich
from collector.wire import WireEvent
from forwarder.release import laplace
from forwarder.runner import Forwarder
from tests.forwarder.conftest import ENV, NOW, POLICY, YESTERDAY, Platforms, attacker_accuracy, settings, store
from warehouse.events import ConsentRow, encode_rows, insert_lines
from warehouse.visits import store_events

PHI_LIKE = ["jane.doe@example.com", "555-867-5309", "123-45-6789", "MRN0048213", "1961-04-02", "02139",
            "198.51.100.23"]


def _visit(n: int, at) -> Visit:
    return Visit(received_at=at, client_ip=f"198.51.100.{n % 250 + 1}", user_agent=f"Mozilla/5.0 CANARYua{n}",
                 visitor_id=uuid.UUID(int=n + 1), session_id=uuid.UUID(int=10_000 + n),
                 consent=Consent(analytics=True, ads=True), gpc=False, dnt=False)


def _journey(n: int, campaign: str = "spring") -> list:
    at = YESTERDAY + timedelta(hours=9, minutes=n % 50)
    landing = (f"https://www.example-hospital.org/CANARYpath{n}/oncology?utm_source=google&utm_medium=cpc"
               f"&utm_campaign={campaign}&utm_term=CANARYterm{n}+{PHI_LIKE[n % len(PHI_LIKE)]}&gclid=CANARYclick{n}")
    view = enrich(WireEvent(site="main", name="pageview", url=landing, referrer=f"https://CANARYref{n}.example/"),
                  _visit(n, at))
    booked = enrich(WireEvent(site="main", name="appointment_request", url=landing,
                              props={"note": f"CANARYprop{n} {PHI_LIKE[n % len(PHI_LIKE)]}", "amount": 120}),
                    _visit(n, at + timedelta(minutes=3)))
    return [view, booked]


def test_no_canary_and_no_phi_like_value_reaches_any_destination(warehouse, tmp_path):
    store(warehouse, [e for n in range(40) for e in _journey(n)], "canary")
    platforms = Platforms()
    policy = settings(signals=[{"event": "appointment_request", "name": "Lead", "value_property": "amount",
                                "value_cap": 500}])
    run = Forwarder(warehouse, policy, tmp_path / "exports", http=httpx.Client(transport=httpx.MockTransport(platforms)),
                    env=ENV, clock=lambda: NOW).run(window=YESTERDAY)
    assert run.outcomes.get("sent", 0) == 5  # one released cell, to each of five destinations
    captured = [f"{r.method} {r.url}\n{r.headers}\n{r.content.decode()}" for r in platforms.requests]
    captured += [path.read_text() for path in (tmp_path / "exports").rglob("*.csv")]
    assert len(captured) == 5
    for text in captured:
        assert "CANARY" not in text.upper()
        for value in PHI_LIKE:
            assert value not in text
    assert '"value":4800.0' in captured[0] or "4800.0" in "".join(captured)  # the allow-listed value did go


@hypothesis_settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["alpha", "beta", "gamma", "delta"]), st.integers(1, 4)),
                min_size=1, max_size=70))
def test_every_released_cell_has_at_least_k_visitors_and_each_visitor_one_cell(warehouse, tmp_path, visitors):
    for table in ("events", "visits", "outbox"):
        warehouse.client.command(f"TRUNCATE TABLE {table}")
    events = []
    for n, (campaign, conversions) in enumerate(visitors):
        view, booked = _journey(n, campaign)
        events += [view] + [msgspec.structs.replace(booked, event_id=uuid.uuid4()) for _ in range(conversions)]
    store(warehouse, events, str(uuid.uuid4()))
    forwarder = Forwarder(warehouse, settings(signals=[{"event": "appointment_request", "name": "Lead"}]),
                          tmp_path, env=ENV, clock=lambda: NOW)
    decisions = forwarder.decide(YESTERDAY)
    # Counted independently, from what the test generated.
    truth = {}
    for campaign, _ in visitors:
        truth[campaign] = truth.get(campaign, 0) + 1
    for decision in decisions:
        true_visitors = truth[decision.cell.dimensions["utm_campaign"]]
        assert decision.cell.visitors == true_visitors
        assert decision.released == (true_visitors >= 11)
    # One cell per visitor and signal: cells never overlap, so no total reveals a suppressed cell.
    assert sum(d.cell.visitors for d in decisions) == len(visitors)
    assert sum(d.cell.conversions for d in decisions) == sum(min(c, 3) for _, c in visitors)



def test_a_declared_campaign_padded_with_scripted_visitors_tells_the_attacker_no_more_than_epsilon(warehouse, tmp_path):
    """Forty scripted visitors (each with a recorded grant and a page view) in each of two declared campaigns; a
    patient converted in one of them. Over repeated releases the attacker tells which no better than e^1 allows."""
    events = [e for n in range(40) for e in _journey(n, "alpha")]
    events += [e for n in range(40, 81) for e in _journey(n, "beta")]  # 40 scripted, and the patient
    store(warehouse, events, "padded-declared")
    policy = settings(signals=[{"event": "appointment_request", "name": "Lead"}], epsilon=1.0, allow_exact=False)
    forwarder = Forwarder(warehouse, policy, tmp_path, env=ENV, clock=lambda: NOW)
    fakes, padded = sorted((d.cell for d in forwarder.decide(YESTERDAY)
                            if d.cell.dimensions["utm_campaign"] in ("alpha", "beta")), key=lambda c: c.visitors)
    assert (fakes.visitors, padded.visitors) == (40, 41)
    trials = 2000
    bound = math.e / (1 + math.e) + 3 * math.sqrt(0.25 / (2 * trials))
    assert max(attacker_accuracy(policy.privacy("Lead"), fakes, padded, trials).values()) <= bound
    exact = settings(signals=[{"event": "appointment_request", "name": "Lead"}])  # the tests' exact policy
    assert attacker_accuracy(exact.privacy("Lead"), fakes, padded, 50)["visitors"] == 1.0  # exact counts give her away


_CHOICES = ["granted", "never recorded", "withdrawn before dispatch", "granted again", "refused", "gpc"]


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(visitors=st.lists(st.tuples(st.sampled_from(["alpha", "beta"]), st.integers(1, 3), st.sampled_from(_CHOICES)),
                         min_size=1, max_size=60),
       k=st.integers(11, 14), epsilon=st.sampled_from([0, 0.5, 1.0, 2.0]), opt_out=st.booleans(),
       push=st.sampled_from([0, 100]))
def test_every_released_cell_has_k_counted_visitors_with_consent_in_force_at_dispatch(
        warehouse, tmp_path, visitors, k, epsilon, opt_out, push):
    for table in ("events", "visits", "outbox", "consent"):
        warehouse.client.command(f"TRUNCATE TABLE {table}")
    events, choices, counted = [], [], {}
    for n, (campaign, conversions, choice) in enumerate(visitors):
        view, booked = _journey(n, campaign)
        rows = [view] + [msgspec.structs.replace(booked, event_id=uuid.uuid4()) for _ in range(conversions)]
        events += [msgspec.structs.replace(row, gpc=choice == "gpc") for row in rows]
        choices += _recorded(n, choice, view.timestamp)
        in_force = choice in ("granted", "granted again", "gpc") or (choice == "never recorded" and opt_out)
        if in_force and choice != "gpc":  # counted independently, from what the test generated
            counted[campaign] = counted.get(campaign, 0) + 1
    insert_lines(warehouse.client, "consent", encode_rows(choices), token=str(uuid.uuid4()))
    store_events(warehouse.client, encode_rows(events), token=str(uuid.uuid4()))
    policy = settings(signals=[{"event": "appointment_request", "name": "Lead"}], k=k, epsilon=epsilon,
                      allow_exact=epsilon == 0, monthly_epsilon=100)
    # OpenDP's noise, or noise that pushes every count far up: the worst case for a pre-threshold.
    noise = (lambda value, scale: value + push) if push else laplace
    forwarder = Forwarder(warehouse, policy, tmp_path, env=ENV, clock=lambda: NOW, noise=noise,
                          opt_out_sites=frozenset({"main"} if opt_out else ()))
    for decision in forwarder.decide(YESTERDAY):
        campaign = decision.cell.dimensions["utm_campaign"]
        assert decision.cell.visitors == counted.get(campaign, 0)
        if decision.released:
            assert counted[campaign] >= k and decision.visitors >= k
        if epsilon == 0:
            assert decision.released == (counted.get(campaign, 0) >= k)


def _recorded(n: int, choice: str, at) -> list[ConsentRow]:
    """What visitor `n` recorded on the banner, around their visit at `at`."""
    def row(ads: bool, when) -> ConsentRow:
        return ConsentRow(site="main", visitor_id=uuid.UUID(int=n + 1), recorded_at=when, analytics=True, ads=ads,
                          policy_version="1", source="banner")
    before, after = at - timedelta(hours=1), at + timedelta(hours=1)
    return {"granted": [row(True, before)], "gpc": [row(True, before)], "never recorded": [],
            "withdrawn before dispatch": [row(True, before), row(False, NOW - timedelta(minutes=1))],
            "granted again": [row(True, before), row(False, after), row(True, after + timedelta(hours=1))],
            "refused": [row(False, before)]}[choice]


def test_hostile_amounts_count_as_nothing_and_one_visitor_adds_at_most_the_cap(warehouse, tmp_path):
    amounts = ["-5e9", "1e308", "inf", "nan", "abc", "250", "9999"]
    events = []
    for n in range(22):
        view, booked = _journey(n)
        props = {"note": "x", "amount": amounts[n % len(amounts)]}
        events += [view, msgspec.structs.replace(booked, props=props)]
    store(warehouse, events, "amounts")
    policy = settings(signals=[{"event": "appointment_request", "name": "Lead", "value_property": "amount",
                                "value_cap": 500}])
    (decision,) = Forwarder(warehouse, policy, tmp_path, env=ENV, clock=lambda: NOW).decide(YESTERDAY)
    # Negative, infinite and unreadable amounts count as 0; the rest at most 500 each (1e308 too).
    assert decision.cell.value == 3 * 250 + 3 * 500 + 3 * 500 and decision.released


def test_the_guard_knows_the_click_ids_of_the_sessions_a_campaign_came_from(warehouse):
    from warehouse.conversions import window_identifiers

    earlier, _ = _journey(1)  # the landing, with its click id, two days before the conversion
    earlier = msgspec.structs.replace(earlier, timestamp=earlier.timestamp - timedelta(days=2),
                                      session_id=uuid.UUID(int=99))
    _, booked = _journey(1)
    booked = msgspec.structs.replace(booked, click_id="", click_id_type="")  # the conversion itself carries none
    store(warehouse, [earlier, booked], "lookback")
    ids = window_identifiers(warehouse.client, YESTERDAY, YESTERDAY + timedelta(days=1), ["appointment_request"], 30)
    assert "CANARYclick1" in ids and str(booked.visitor_id) in ids and str(booked.session_id) in ids
    assert "CANARYclick1" not in window_identifiers(warehouse.client, YESTERDAY, YESTERDAY + timedelta(days=1),
                                                    ["appointment_request"], 1)


def test_a_campaign_written_as_a_spreadsheet_formula_reaches_files_and_webhooks_quoted(warehouse, tmp_path):
    formula = "=cmd|' /C calc'!A0"
    events = [e for n in range(12) for e in _journey(n, campaign=quote(formula))]
    store(warehouse, events, "formula")
    platforms = Platforms()
    # Declared by a careless admin: quoting must hold whatever the declared values are.
    policy = settings(signals=[{"event": "appointment_request", "name": "Lead"}],
                      values=POLICY["values"] | {"utm_campaign": [formula]},
                      destinations=[d for d in POLICY["destinations"] if d["id"] in ("hook", "mmm")])
    run = Forwarder(warehouse, policy, tmp_path / "exports", http=httpx.Client(transport=httpx.MockTransport(platforms)),
                    env=ENV, clock=lambda: NOW).run(window=YESTERDAY)
    assert run.outcomes == {"sent": 2}
    (written,) = (tmp_path / "exports").rglob("*.csv")
    cells = [cell for row in csv.reader(io.StringIO(written.read_text())) for cell in row]
    assert "'" + formula in cells and not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    (hook,) = platforms.requests
    assert [c["dimensions"]["utm_campaign"] for c in json.loads(hook.content)["cells"]] == ["'" + formula]


def test_a_campaign_padded_with_scripted_visitors_never_leaves_unless_declared(warehouse, tmp_path):
    """One patient followed a link naming them; ten scripted visitors (each request a new cookie) join it."""
    campaign = "jane-doe-hiv-prep"
    events = [e for n in range(11) for e in _journey(n, campaign=campaign)]
    store(warehouse, events, "padded")
    platforms = Platforms()
    policy = settings(signals=[{"event": "appointment_request", "name": "Lead"}])
    run = Forwarder(warehouse, policy, tmp_path / "exports", http=httpx.Client(transport=httpx.MockTransport(platforms)),
                    env=ENV, clock=lambda: NOW).run(window=YESTERDAY)
    assert run.outcomes == {"sent": 5}  # the cell went, as (other)
    sent = [r.content.decode() + str(r.url) for r in platforms.requests]
    sent += [path.read_text() for path in (tmp_path / "exports").rglob("*.csv")]
    sent += [entry.detail + entry.resource for entry in warehouse.audit.entries()]
    assert all("jane" not in text and "hiv" not in text for text in sent)
    assert any("(other)" in text for text in sent)
