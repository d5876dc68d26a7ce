"""Visits follow the events stored for them: across batches, writers, replays, midnight and late arrivals."""

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from collector.enrich import Consent, Visit, enrich, visit_id
from collector.wire import WireEvent
from tests.conftest import AUDIT_KEY
from warehouse import WarehouseSettings, open_warehouse, reports
from warehouse.events import UnreadableRows, encode_rows
from warehouse.reports import ReportQuery
from warehouse.visits import store_events

START = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=2)
VISIT = visit_id(START, 12345)


def _event(name: str, url: str, seconds: int, referrer: str = "", visit: uuid.UUID = VISIT, start: datetime = START):
    request = Visit(received_at=start + timedelta(seconds=seconds), client_ip="192.0.2.1", user_agent="Mozilla/5.0",
                    visitor_id=uuid.UUID(int=1), session_id=visit, consent=Consent(analytics=True, ads=True))
    return enrich(WireEvent(site="main", name=name, url=url, referrer=referrer), request)


LANDING = _event("pageview", "https://h.example/services/cardiology?utm_source=google&utm_campaign=heart", 0,
                 referrer="https://www.google.com/")
SECOND = _event("pageview", "https://h.example/find-a-doctor", 60)
BOOKED = _event("appointment_request", "https://h.example/find-a-doctor", 90)


def _visits(warehouse) -> list[tuple]:
    """Per visit: its id, page views, conversions, seconds, source, campaign and entry page."""
    rows = warehouse.client.query(
        "SELECT session_id, sum(pageviews), sum(conversions), dateDiff('second', min(started), max(ended)), "
        "splitByChar('\\0', substring(min(first), 52)) AS f, f[1], f[4], substring(min(entry), 53) FROM visits "
        "GROUP BY session_id "
        "ORDER BY session_id").result_rows
    return [row[:4] + row[5:] for row in rows]


def _answers(warehouse, day=START.date()) -> dict:
    """Every visit report for one day, as the API returns them."""
    query = ReportQuery(site="main", start=day, end=day)
    return {report.__name__: msgspec.to_builtins(report(warehouse.client, query))
            for report in (reports.overview, reports.sources, reports.campaigns, reports.entry_pages,
                           reports.conversions, reports.devices)}


def test_a_visit_stored_in_two_batches_is_one_visit_with_everything_it_did(warehouse):
    store_events(warehouse.client, encode_rows([LANDING]), token="a")
    store_events(warehouse.client, encode_rows([SECOND, BOOKED]), token="b")
    assert _visits(warehouse) == [(VISIT, 2, 1, 90, "google", "heart", "/services/cardiology")]
    overview = _answers(warehouse)["overview"]
    assert (overview["sessions"], overview["pageviews"], overview["conversions"], overview["bounce_rate"]) == (1, 2, 1, 0)


@pytest.mark.parametrize("order", ["landing first", "landing last"])
def test_two_writers_storing_one_visit_in_either_order_give_the_answers_of_one_batch(engine_path, order):
    """Two collectors, each with its own client, write parts of one visit: no read, no coordination."""
    opened = [open_warehouse(WarehouseSettings(dsn=f"chdb://{engine_path}?database=w_{uuid.uuid4().hex[:8]}"),
                             migrate_as="test", audit_key=AUDIT_KEY) for _ in range(2)]
    together, apart = opened
    second = open_warehouse(WarehouseSettings(dsn=f"chdb://{engine_path}?database={apart.dsn.database}"), audit_key=AUDIT_KEY)
    try:
        store_events(together.client, encode_rows([LANDING, SECOND, BOOKED]), token="all")
        batches = [([LANDING], apart), ([SECOND, BOOKED], second)]
        for rows, writer in batches if order == "landing first" else reversed(batches):
            store_events(writer.client, encode_rows(rows), token=f"part-{len(rows)}")
        assert _answers(apart) == _answers(together)
        assert _answers(together)["overview"]["sessions"] == 1
    finally:
        for warehouse in opened:
            warehouse.client.command(f"DROP DATABASE `{warehouse.dsn.database}`")
            warehouse.close()
        second.close()


def test_storing_a_batch_again_with_its_token_changes_nothing(warehouse):
    for _ in range(2):
        store_events(warehouse.client, encode_rows([LANDING]), token="a")
        store_events(warehouse.client, encode_rows([SECOND, BOOKED]), token="b")
    assert warehouse.client.command("SELECT count() FROM events") == 3
    assert warehouse.client.command("SELECT count() FROM visits") == 2  # one row of states per stored batch
    assert _visits(warehouse) == [(VISIT, 2, 1, 90, "google", "heart", "/services/cardiology")]
    # The daily rollups count the batches once too (`daily_events` counted a replayed one twice).
    day = ReportQuery(site="main", start=START.date(), end=START.date())
    assert reports.timeseries(warehouse.client, day) == [
        {"day": START.date(), "visitors": 1, "pageviews": 2, "conversions": 1}]
    assert {row["path"]: row["pageviews"] for row in reports.pages(warehouse.client, day)} == {
        "/services/cardiology": 1, "/find-a-doctor": 1}
    assert [(row["name"], row["events"]) for row in reports.events(warehouse.client, day)] == [
        ("appointment_request", 1)]


def test_a_visit_across_midnight_counts_once_on_the_day_it_started(warehouse):
    late = START.replace(hour=23, minute=50)
    night = visit_id(late, 99)
    evening = _event("pageview", "https://h.example/", 0, visit=night, start=late)
    after_midnight = _event("pageview", "https://h.example/emergency", 20 * 60, visit=night, start=late)
    store_events(warehouse.client, encode_rows([evening]), token="a")
    store_events(warehouse.client, encode_rows([after_midnight]), token="b")
    started_day, next_day = _answers(warehouse, late.date()), _answers(warehouse, late.date() + timedelta(days=1))
    assert (started_day["overview"]["sessions"], started_day["overview"]["pageviews"]) == (1, 2)
    assert started_day["overview"]["session_seconds"] == 20 * 60
    assert next_day["overview"]["sessions"] == 0 and next_day["sources"] == []


def test_a_late_event_from_before_the_visit_takes_over_its_attribution_and_entry_page(warehouse):
    store_events(warehouse.client, encode_rows([SECOND, BOOKED]), token="a")
    assert _visits(warehouse)[0][4:] == ("(direct)", "", "/find-a-doctor")
    store_events(warehouse.client, encode_rows([LANDING]), token="b")
    assert _visits(warehouse) == [(VISIT, 2, 1, 90, "google", "heart", "/services/cardiology")]
    assert _answers(warehouse)["campaigns"] == [
        {"campaign": "heart", "source": "google", "medium": "", "sessions": 1, "conversions": 1}]


def test_each_visit_of_a_batch_is_kept_apart(warehouse):
    other = visit_id(START, 777)
    store_events(warehouse.client, encode_rows([LANDING, _event("pageview", "https://h.example/", 30, visit=other)]),
                 token="a")
    assert sorted(row[1] for row in _visits(warehouse)) == [1, 1]


@pytest.mark.parametrize("lines", [b'{"site": "main"}\n', b"not json\n"])
def test_lines_that_are_not_events_are_refused_before_anything_is_stored(warehouse, lines):
    with pytest.raises(UnreadableRows):
        store_events(warehouse.client, lines, token="a")
    assert warehouse.client.command("SELECT count() FROM events") == 0


def test_the_entry_page_is_the_earliest_page_view_whatever_order_batches_come_in(warehouse):
    later_view = _event("pageview", "https://h.example/b", 300)
    click = _event("phone_click", "https://h.example/", 60)
    earlier_view = _event("pageview", "https://h.example/a", 180)
    store_events(warehouse.client, encode_rows([later_view]), token="a")
    store_events(warehouse.client, encode_rows([click, earlier_view]), token="b")
    assert _visits(warehouse)[0][6] == "/a"


def test_a_visit_id_from_before_uuidv7_counts_on_its_first_events_day(warehouse):
    legacy = uuid.UUID(int=42, version=4)
    store_events(warehouse.client, encode_rows([_event("pageview", "https://h.example/", 0, visit=legacy)]), token="a")
    assert _answers(warehouse)["overview"]["sessions"] == 1


def test_visit_ids_with_made_up_times_cannot_stop_the_writer_or_file_visits_in_other_months(warehouse):
    """Ids the collector did not mint (its own are checked) count on their events' day, one insert for all."""
    forged = [uuid.UUID(int=(months * 31 * 86_400_000 << 80) | (7 << 76) | (2 << 62) | n)
              for n, months in enumerate(range(1, 150))]  # starts in 149 different months of 1970-1982
    rows = [_event("pageview", "https://h.example/", n, visit=visit) for n, visit in enumerate(forged)]
    store_events(warehouse.client, encode_rows(rows), token="forged")
    assert warehouse.client.command("SELECT count() FROM events") == len(rows)
    assert _answers(warehouse)["overview"]["sessions"] == len(rows)


def test_events_stored_without_analytics_consent_count_as_page_views_never_as_visits_or_visitors(warehouse):
    refused = Visit(received_at=START, client_ip="192.0.2.1", user_agent="Mozilla/5.0", visitor_id=uuid.UUID(int=9),
                    session_id=visit_id(START, 9), consent=Consent(analytics=False, ads=False))
    anonymous = [enrich(WireEvent(site="main", name="pageview", url=f"https://h.example/p{n}"), refused)
                 for n in range(3)]
    store_events(warehouse.client, encode_rows([LANDING, *anonymous]), token="mixed")
    query = ReportQuery(site="main", start=START.date(), end=START.date())
    overview = reports.overview(warehouse.client, query)
    assert (overview.sessions, overview.visitors, overview.pageviews) == (1, 1, 1)
    pages = {row["path"]: row for row in reports.pages(warehouse.client, query)}
    assert {path: (row["pageviews"], row["visitors"]) for path, row in pages.items()} == {
        "/services/cardiology": (1, 1), "/p0": (1, 0), "/p1": (1, 0), "/p2": (1, 0)}
    series = reports.timeseries(warehouse.client, query)
    assert [(row["pageviews"], row["visitors"]) for row in series] == [(4, 1)]


def _measured(name: str, seconds: int, **props) -> object:
    event = _event(name, "https://h.example/find-a-doctor", seconds)
    return msgspec.structs.replace(event, props={key: str(value) for key, value in props.items()})


def test_what_the_snippet_measures_is_no_conversion_and_engagement_adds_up_per_page_view(warehouse):
    measured = [_measured("engagement", 61, engaged_ms=42_000, scroll=80), _measured("outbound-link", 62, host="x.org"),
                _measured("file-download", 63, file="/guide.pdf"), _measured("404", 64),
                _measured("form-submit", 65, form="appointment"),
                _measured("engagement", 66, engaged_ms=99_999_999, scroll=500)]  # forged: capped per event
    store_events(warehouse.client, encode_rows([LANDING, SECOND, *measured, BOOKED]), token="a")

    answers = _answers(warehouse)
    assert (answers["overview"]["conversions"], answers["overview"]["pageviews"]) == (1, 2)
    assert [row["conversion"] for row in answers["conversions"]] == ["appointment_request"]
    page = next(r for r in reports.pages(warehouse.client, ReportQuery(site="main", start=START.date(),
                                                                        end=START.date()))
                if r["path"] == "/find-a-doctor")
    assert page["pageviews"] == 1
    assert page["engaged_seconds"] == 1800 and page["scroll_depth"] == 100  # a view's figures are capped too
    assert warehouse.client.query("SELECT sum(engaged_ms), sum(scroll) FROM daily_events WHERE name = 'engagement'"
                                  ).result_rows == [(42_000 + 1_800_000, 80 + 100)]  # and each event's
    cardiology = [r for r in reports.pages(warehouse.client, ReportQuery(site="main", start=START.date(),
                                                                          end=START.date()))
                  if r["path"] == "/services/cardiology"]
    assert cardiology[0]["engaged_seconds"] is None  # nothing measured there: not zero


def test_a_filtered_page_report_measures_engagement_as_the_rollup_does(warehouse):
    store_events(warehouse.client, encode_rows([LANDING, SECOND, _measured("engagement", 61, engaged_ms=30_000,
                                                                           scroll=60)]), token="a")
    day = START.date()
    rolled = reports.pages(warehouse.client, ReportQuery(site="main", start=day, end=day))
    filtered = reports.pages(warehouse.client, ReportQuery(site="main", start=day, end=day,
                                                           filters={"utm_campaign": "heart"}))
    assert filtered == rolled and {r["path"]: r["engaged_seconds"] for r in rolled}["/find-a-doctor"] == 30


def test_an_events_property_values_read_masked_like_every_report(warehouse):
    booked = _measured("appointment_request", 90, service_line="cardiology", callback="555-123-4567",
                       email="jane@example.org")
    store_events(warehouse.client, encode_rows([LANDING, booked]), token="a")
    day = START.date()
    rows = reports.properties(warehouse.client, ReportQuery(site="main", start=day, end=day), "appointment_request")
    assert {(r["property"], r["value"]) for r in rows} == {
        ("service_line", "cardiology"), ("callback", "*"), ("email", "*"), ("page", "/find-a-doctor")}


def test_values_that_mask_alike_count_as_one_value_with_their_events_and_visitors_added(warehouse):
    calls = [_measured("appointment_request", 90 + n, callback=number, service_line="cardiology")
             for n, number in enumerate(["555-123-4567", "555-765-4321", "555-000-1111"])]
    store_events(warehouse.client, encode_rows([LANDING, *calls]), token="a")
    day = START.date()
    rows = reports.properties(warehouse.client, ReportQuery(site="main", start=day, end=day), "appointment_request")
    figures = {(r["property"], r["value"]): (r["events"], r["visitors"]) for r in rows}
    assert figures == {("callback", "*"): (3, 1), ("service_line", "cardiology"): (3, 1),
                       ("page", "/find-a-doctor"): (3, 1)}
