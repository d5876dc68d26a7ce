"""Report cells of closed days: the same answers as folding every visit, current whatever arrives late.

Each answer compared is every visit report's and every goal's (in total and by each dimension it breaks down by)."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from collector import demo
from collector.enrich import Consent, Visit, enrich, visit_id
from collector.wire import WireEvent
from tests.conftest import AUDIT_KEY
from warehouse import WarehouseSettings, cells, open_warehouse, reports
from warehouse.events import encode_rows
from warehouse.goals import GoalCells, GoalKind, Goals
from warehouse.reports import GOAL_BREAKDOWNS, ReportQuery, refresh_cells
from warehouse.visits import store_events

TODAY = datetime.now(UTC).date()
VISIT_REPORTS = (reports.overview, reports.sources, reports.campaigns, reports.entry_pages, reports.conversions,
                 reports.devices)
PERIODS = {
    "the last 30 days": (TODAY - timedelta(days=29), TODAY),
    "closed days only": (TODAY - timedelta(days=10), TODAY - timedelta(days=3)),
    "one closed day": (TODAY - timedelta(days=5), TODAY - timedelta(days=5)),
    "today": (TODAY, TODAY),
}


@pytest.fixture
def traffic(engine_path):
    """Demo traffic of 12 days in a database of its own, with two goals (an event with a value, a page pattern)
    and no cells computed yet."""
    database = f"cells_{uuid.uuid4().hex[:8]}"
    warehouse = open_warehouse(WarehouseSettings(dsn=f"chdb://{engine_path}?database={database}"), migrate_as="test", audit_key=AUDIT_KEY)
    demo.load(warehouse, 3_000, days=12, site="main", seed=11)
    goals = Goals(warehouse.client)
    goals.add("main", "Booked", GoalKind.EVENT, "appointment_request", 150, "ana")
    goals.add("main", "Heart pages", GoalKind.PAGE, "/services/card*", 0, "ana")
    yield warehouse
    warehouse.client.command(f"DROP DATABASE `{database}`")
    warehouse.close()


def _answers(warehouse, start=PERIODS["the last 30 days"][0], end=TODAY, **filters) -> dict:
    query = ReportQuery(site="main", start=start, end=end, filters=filters)
    answers = {report.__name__: msgspec.to_builtins(report(warehouse.client, query)) for report in VISIT_REPORTS}
    for by in ("", *GOAL_BREAKDOWNS):
        answers[f"goals by {by or 'nothing'}"] = reports.goals(warehouse.client, query, by)
    return answers


def _goal(answers: dict, name: str) -> dict:
    """A goal's figures in all: a goal nobody completed has no row."""
    return next((row for row in answers["goals by nothing"] if row["goal"] == name), {"converted": 0, "value": 0})


def _goal_names(answers: dict) -> set[str]:
    return {row["goal"] for row in answers["goals by nothing"]}


def _stored_days(warehouse, start=PERIODS["the last 30 days"][0], end=TODAY) -> set:
    """The days of the period that the sources report reads from stored cells."""
    return cells.current_days(warehouse.client, reports._SOURCES, "main", start, end)


def _stored_goal_days(warehouse, start=PERIODS["the last 30 days"][0], end=TODAY) -> set:
    """The days of the period that every goal's figures are read from stored cells."""
    defined = Goals(warehouse.client).of("main")
    return set.intersection(*(cells.current_days(warehouse.client, GoalCells(g), "main", start, end) for g in defined))


def _days_with_visits(warehouse) -> set:
    return {row[0] for row in warehouse.client.query("SELECT DISTINCT toDate(start) FROM visits").result_rows}


def _late_visit(day, token: str) -> tuple[bytes, str]:
    """What a late batch holds: a whole new visit, from a campaign nobody else ran, started on `day`."""
    start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=9)
    visit = Visit(received_at=start, client_ip="192.0.2.1", user_agent="Mozilla/5.0", visitor_id=uuid.uuid4(),
                  session_id=visit_id(start, 99), consent=Consent(analytics=True, ads=True))
    landing = enrich(WireEvent(site="main", name="pageview", url="https://h.example/late?utm_source=mail&utm_campaign=late"),
                     visit)
    booked = enrich(WireEvent(site="main", name="appointment_request", url="https://h.example/late"),
                    msgspec.structs.replace(visit, received_at=start + timedelta(seconds=30)))
    return encode_rows([landing, booked]), token


@pytest.mark.parametrize("period", PERIODS)
def test_reports_read_from_cells_equal_reports_folded_from_every_visit(traffic, period):
    start, end = PERIODS[period]
    folded = _answers(traffic, start, end)
    assert refresh_cells(traffic.client, "main")
    assert _answers(traffic, start, end) == folded


def test_days_that_have_ended_are_read_from_cells_and_today_is_folded(traffic):
    assert _stored_days(traffic) == set()
    computed = refresh_cells(traffic.client, "main")
    assert computed == sorted(_days_with_visits(traffic) - {TODAY})
    assert _stored_days(traffic) == _stored_goal_days(traffic) == set(computed)


def test_a_goal_defined_after_the_refresh_answers_at_once_and_has_cells_after_the_next(traffic):
    refresh_cells(traffic.client, "main")
    assert "Found a doctor" not in _goal_names(_answers(traffic))  # answered before the goal existed
    Goals(traffic.client).add("main", "Found a doctor", GoalKind.PAGE, "/find-a-doctor*", 0, "ana")
    assert _stored_goal_days(traffic) == set()
    folded = _answers(traffic)
    assert _goal(folded, "Found a doctor")["converted"] > 0
    assert refresh_cells(traffic.client, "main") == sorted(_days_with_visits(traffic) - {TODAY})
    assert _stored_goal_days(traffic) == _days_with_visits(traffic) - {TODAY}
    assert _answers(traffic) == folded


def test_a_goal_removed_after_a_report_is_gone_from_the_next(traffic):
    assert "Booked" in _goal_names(_answers(traffic))
    booked, = [goal for goal in Goals(traffic.client).of("main") if goal.name == "Booked"]
    Goals(traffic.client).remove(booked, "ana")
    assert "Booked" not in _goal_names(_answers(traffic))


def test_a_refresh_with_nothing_new_computes_nothing(traffic):
    refresh_cells(traffic.client, "main")
    generations = traffic.client.command("SELECT uniqExact(generation) FROM visit_cells")
    assert refresh_cells(traffic.client, "main") == []
    assert traffic.client.command("SELECT uniqExact(generation) FROM visit_cells") == generations


def test_a_late_batch_for_a_closed_day_counts_at_once_and_its_day_is_computed_again(traffic):
    day = TODAY - timedelta(days=6)
    refresh_cells(traffic.client, "main")
    before = _answers(traffic, day, day)
    store_events(traffic.client, *_late_visit(day, "late"))
    now = _answers(traffic, day, day)
    assert now["overview"]["sessions"] == before["overview"]["sessions"] + 1
    assert now["overview"]["conversions"] == before["overview"]["conversions"] + 1
    assert {"campaign": "late", "source": "mail", "medium": "", "sessions": 1, "conversions": 1} in now["campaigns"]
    assert _goal(now, "Booked")["converted"] == _goal(before, "Booked")["converted"] + 1
    assert day not in _stored_days(traffic, day, day) | _stored_goal_days(traffic, day, day)  # no longer current
    assert refresh_cells(traffic.client, "main") == [day]
    assert _stored_days(traffic, day, day) == {day}
    assert _answers(traffic, day, day) == now


def test_a_replayed_batch_changes_nothing(traffic):
    day = TODAY - timedelta(days=6)
    store_events(traffic.client, *_late_visit(day, "once"))
    refresh_cells(traffic.client, "main")
    answers = _answers(traffic)
    store_events(traffic.client, *_late_visit(day, "once"))  # the spool sends a segment again, same token
    assert day in _stored_days(traffic)
    assert refresh_cells(traffic.client, "main") == []
    assert _answers(traffic) == answers


def test_a_refresh_that_dies_before_recording_its_days_leaves_every_answer_as_it_was(traffic, monkeypatch):
    folded = _answers(traffic)

    def crash(table, *args, **kwargs):
        raise ConnectionError(f"the process died before writing {table}")

    monkeypatch.setattr(traffic.client, "insert", crash)
    with pytest.raises(ConnectionError):
        refresh_cells(traffic.client, "main")
    monkeypatch.undo()
    assert traffic.client.command("SELECT count() FROM visit_cells") > 0  # cells of a generation nobody reads
    assert _stored_days(traffic) == set()
    assert _answers(traffic) == folded
    refresh_cells(traffic.client, "main")
    assert _answers(traffic) == folded


def test_two_refreshers_at_once_give_the_answers_of_one(traffic, engine_path):
    """Two instances refresh at the same moment, each with its own client: both write, readers see one."""
    folded = _answers(traffic)
    other = open_warehouse(WarehouseSettings(dsn=f"chdb://{engine_path}?database={traffic.client.database}"), audit_key=AUDIT_KEY)
    with ThreadPoolExecutor(2) as pool:
        computed = list(pool.map(lambda w: refresh_cells(w.client, "main"), [traffic, other]))
    other.close()
    closed = _days_with_visits(traffic) - {TODAY}
    assert set(computed[0]) | set(computed[1]) == closed
    assert _answers(traffic) == folded
    assert _stored_days(traffic) == closed


def test_a_changed_report_definition_computes_its_cells_again(traffic):
    computed = refresh_cells(traffic.client, "main")
    changed = msgspec.structs.replace(reports._SOURCES, where="source != '(direct)'")
    assert cells.refresh(traffic.client, "main", [changed]) == computed
    assert refresh_cells(traffic.client, "main") == []  # the released definition's cells still stand


def test_closed_days_are_answered_from_the_stored_cells(traffic):
    """Proof that cells are read: a stored cell changed by hand changes the answer."""
    refresh_cells(traffic.client, "main")
    day = TODAY - timedelta(days=4)
    before = _answers(traffic, day, day)["overview"]["sessions"]
    traffic.client.command("ALTER TABLE visit_cells UPDATE sessions = sessions + 1000 WHERE report = 'overview' "
                           "AND day = {day:Date}", parameters={"day": day}, settings={"mutations_sync": 2})
    assert _answers(traffic, day, day)["overview"]["sessions"] == before + 1000


def test_closed_days_of_a_goal_are_answered_from_its_stored_cells(traffic):
    refresh_cells(traffic.client, "main")
    day = TODAY - timedelta(days=4)
    before = _goal(_answers(traffic, day, day), "Booked")
    traffic.client.command("ALTER TABLE visit_cells UPDATE converted = converted + 1000, value = value + 0.5 "
                           "WHERE startsWith(report, 'goal:') AND day = {day:Date} AND key = ['', '']",
                           parameters={"day": day}, settings={"mutations_sync": 2})
    after = _goal(_answers(traffic, day, day), "Booked")
    assert (after["converted"], after["value"]) == (before["converted"] + 1000, before["value"] + 0.5)
