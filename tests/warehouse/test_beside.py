"""A query run on a check's last answer: its result is always the one the answer of now gives."""

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from tests.conftest import AUDIT_KEY
from warehouse import beside, open_warehouse


class _Check:
    """A check whose answer a test sets, counting the times it was made and on which client."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.clients = []

    def __call__(self, client) -> str:
        self.clients.append(client)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_a_changed_answer_runs_the_query_again_on_it(warehouse):
    check = _Check("monday")
    assert beside.checked(warehouse.client, "day", check, str.upper) == "MONDAY"
    check.answer = "tuesday"
    ran = []
    assert beside.checked(warehouse.client, "day", check, lambda day: ran.append(day) or day.upper()) == "TUESDAY"
    assert ran == ["monday", "tuesday"]  # the last answer first, while the check was made again
    assert warehouse.client not in check.clients  # every check was made on the client beside


def test_an_answer_unchanged_is_run_once(warehouse):
    check = _Check("monday")
    beside.checked(warehouse.client, "day", check, str.upper)
    ran = []
    assert beside.checked(warehouse.client, "day", check, lambda day: ran.append(day) or day.upper()) == "MONDAY"
    assert ran == ["monday"]


def test_a_query_that_fails_on_an_answer_no_longer_true_is_run_on_the_new_one(warehouse):
    check = _Check("monday")
    beside.checked(warehouse.client, "day", check, str.upper)
    check.answer = "tuesday"

    def fails_on_monday(day: str) -> str:
        if day == "monday":
            raise DatabaseError("too many rows to read")
        return day.upper()

    assert beside.checked(warehouse.client, "day", check, fails_on_monday) == "TUESDAY"


def test_a_query_that_fails_on_the_answer_of_now_fails(warehouse):
    check = _Check("monday")
    beside.checked(warehouse.client, "day", check, str.upper)

    def fails(day: str) -> str:
        raise DatabaseError(f"no {day}")

    with pytest.raises(DatabaseError, match="no monday"):
        beside.checked(warehouse.client, "day", check, fails)


def test_a_check_that_fails_gives_no_answer_made_on_the_last_one(warehouse):
    check = _Check("monday")
    beside.checked(warehouse.client, "day", check, str.upper)
    check.answer = DatabaseError("the warehouse went away")
    with pytest.raises(DatabaseError, match="went away"):
        beside.checked(warehouse.client, "day", check, str.upper)


def test_checks_of_other_keys_and_other_warehouses_do_not_mix(warehouse, warehouse_settings):
    beside.checked(warehouse.client, "day", _Check("monday"), str)
    assert beside.checked(warehouse.client, "month", _Check("june"), str) == "june"
    ran = []
    other = beside.detach(warehouse.client)
    try:
        assert beside.checked(warehouse.client, "day", _Check("friday"), lambda d: ran.append(d) or d) == "friday"
        assert ran == ["friday"]  # without a client beside, the check is made first, on the client itself
    finally:
        beside.attach(warehouse.client, other)


def test_a_closed_warehouse_leaves_no_client_beside(warehouse_settings, database):
    opened = open_warehouse(warehouse_settings, migrate_as="test", audit_key=AUDIT_KEY)
    client = opened.client
    opened.client.command(f"DROP DATABASE IF EXISTS `{database}`")
    opened.close()
    check = _Check("monday")
    assert beside.checked(client, "day", check, str) == "monday"
    assert check.clients == [client]  # made on the client itself: nothing is beside it any more
