"""Release: a cell leaves with k distinct visitors; with epsilon, noise first and the threshold on the noisy count."""

import statistics
from datetime import UTC, datetime

import pytest

from forwarder.release import laplace, release
from tests.forwarder.conftest import YESTERDAY, settings
from warehouse.conversions import Cell
from warehouse.outbox import Outbox

CELLS = [Cell(signal="Lead", dimensions={"utm_campaign": name}, visitors=n, conversions=n + 2, value=100.0 * n)
         for name, n in [("big", 40), ("edge", 11), ("small", 10), ("tiny", 1)]]


def test_without_noise_exactly_the_cells_with_k_visitors_leave_with_their_true_numbers():
    decisions = release(CELLS, k=11, epsilon=0, max_per_visitor=3, value_caps={})
    assert [d.released for d in decisions] == [True, True, False, False]
    assert (decisions[0].visitors, decisions[0].conversions, decisions[0].value) == (40, 42, 4000.0)
    assert decisions[2].reason == "10 distinct visitors, fewer than k=11"


def test_with_epsilon_each_number_gets_noise_scaled_to_what_one_visitor_can_change():
    scales = []

    def noise(value: float, scale: float) -> float:
        scales.append(scale)
        return value - 5  # pushes "edge" under the threshold: the noisy count decides

    decisions = release(CELLS[:2], k=11, epsilon=0.3, max_per_visitor=3, value_caps={"Lead": 500.0}, noise=noise)
    assert scales[:3] == pytest.approx([10.0, 30.0, 5000.0])  # epsilon split in three: 1, 3 and 500 over 0.1
    assert [d.released for d in decisions] == [True, False]
    assert decisions[0].visitors == 35 and "noisy visitors" in decisions[1].reason


def test_opendp_noise_is_whole_for_counts_and_centred():
    draws = [laplace(100, 2.0) for _ in range(400)]
    assert all(float(d).is_integer() for d in draws)
    assert abs(statistics.mean(draws) - 100) < 1 and 1.5 < statistics.stdev(draws) < 4.5


def test_the_months_privacy_budget_counts_every_window_each_signal_was_measured_in(make_forwarder, clean):
    make_forwarder(settings(epsilon=0.5)).run(window=YESTERDAY, destination="mmm")
    this_month = YESTERDAY.month == datetime.now(UTC).month
    assert Outbox(clean.client).status().epsilon_this_month == ({"Lead": 0.5, "Contact": 0.5} if this_month else {})


def test_noise_never_releases_a_cell_with_fewer_than_k_true_visitors():
    decisions = release(CELLS, k=11, epsilon=0.3, max_per_visitor=3, value_caps={},
                        noise=lambda value, scale: value + 20)
    assert [d.released for d in decisions] == [True, True, False, False]
    assert decisions[3].reason == "1 distinct visitors, fewer than k=11"
