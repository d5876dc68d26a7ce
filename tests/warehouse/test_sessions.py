"""Sessions follow the events stored for them: across batches, replays and late arrivals."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from collector.enrich import Consent, Visit, enrich
from collector.wire import WireEvent
from warehouse.events import UnreadableRows, encode_rows, insert_lines
from warehouse.sessions import store_events

START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
SESSION = uuid.uuid4()


def _event(name: str, url: str, seconds: int, referrer: str = "", session: uuid.UUID = SESSION):
    visit = Visit(received_at=START + timedelta(seconds=seconds), client_ip="192.0.2.1", user_agent="Mozilla/5.0",
                  visitor_id=uuid.UUID(int=1), session_id=session, consent=Consent(analytics=True, ads=True),
                  gpc=False, dnt=False)
    return enrich(WireEvent(site="main", name=name, url=url, referrer=referrer), visit)


LANDING = _event("pageview", "https://h.example/services/cardiology?utm_source=google&utm_campaign=heart", 0,
                 referrer="https://www.google.com/")
SECOND = _event("pageview", "https://h.example/find-a-doctor", 60)
BOOKED = _event("appointment_request", "https://h.example/find-a-doctor", 90)


def _sessions(warehouse) -> list[tuple]:
    return warehouse.client.query(
        "SELECT session_id, sum(sign), sum(sign * pageviews), sum(sign * conversions), "
        "sum(sign * dateDiff('second', started, ended)), argMax(source, version), argMax(campaign, version), "
        "argMax(entry_path, version) FROM sessions GROUP BY session_id HAVING sum(sign) > 0").result_rows


def test_a_session_stored_in_two_batches_is_one_session_with_everything_it_did(warehouse):
    store_events(warehouse.client, encode_rows([LANDING]), token="a")
    store_events(warehouse.client, encode_rows([SECOND, BOOKED]), token="b")
    assert _sessions(warehouse) == [(SESSION, 1, 2, 1, 90, "google", "heart", "/services/cardiology")]


def test_storing_a_batch_again_with_its_token_changes_nothing(warehouse):
    for _ in range(2):
        store_events(warehouse.client, encode_rows([LANDING]), token="a")
        store_events(warehouse.client, encode_rows([SECOND, BOOKED]), token="b")
    assert warehouse.client.command("SELECT count() FROM events") == 3
    assert _sessions(warehouse) == [(SESSION, 1, 2, 1, 90, "google", "heart", "/services/cardiology")]


def test_a_crash_between_the_event_and_session_inserts_is_made_good_by_the_replay(warehouse):
    insert_lines(warehouse.client, "events", encode_rows([LANDING, SECOND]), token="a")  # then the process died
    store_events(warehouse.client, encode_rows([LANDING, SECOND]), token="a")
    assert warehouse.client.command("SELECT count() FROM events") == 2
    assert _sessions(warehouse)[0][1:3] == (1, 2)


def test_a_late_event_from_before_the_session_takes_over_its_attribution(warehouse):
    store_events(warehouse.client, encode_rows([SECOND, BOOKED]), token="a")
    assert _sessions(warehouse)[0][5:] == ("(direct)", "", "/find-a-doctor")
    store_events(warehouse.client, encode_rows([LANDING]), token="b")
    assert _sessions(warehouse) == [(SESSION, 1, 2, 1, 90, "google", "heart", "/services/cardiology")]


def test_each_session_of_a_batch_is_kept_apart(warehouse):
    other = uuid.uuid4()
    store_events(warehouse.client, encode_rows([LANDING, _event("pageview", "https://h.example/", 30, session=other)]),
                 token="a")
    assert sorted(row[2] for row in _sessions(warehouse)) == [1, 1]


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
    assert _sessions(warehouse)[0][7] == "/a"
