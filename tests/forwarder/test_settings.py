"""The policy refuses what would leak or cannot work, and says why."""

import msgspec
import pytest

from forwarder.settings import ForwarderSettings
from tests.forwarder.conftest import POLICY
from sluice.config import check


def _problems(forwarder: dict) -> str:
    return "\n".join(str(p) for p in check({"forwarder": forwarder}))


def test_the_example_policy_is_valid():
    assert _problems(POLICY) == ""


def test_k_below_11_is_refused():
    assert "forwarder.k" in _problems(POLICY | {"k": 5})


@pytest.mark.parametrize(("kind", "why"), [("google_ads", "gclid"), ("linkedin", "user id")])
def test_platforms_that_need_a_person_are_refused_with_the_reason(kind, why):
    found = _problems(POLICY | {"destinations": [{"type": kind, "id": "x"}]})
    assert why in found and "person-level identifiers" in found


def test_two_groupings_of_one_signal_are_refused():
    destinations = [{"type": "csv", "id": "a", "dimensions": ["utm_campaign"]},
                    {"type": "csv", "id": "b", "dimensions": ["utm_campaign", "device_type"]}]
    found = _problems(POLICY | {"destinations": destinations})
    assert "grouped differently" in found and "a: utm_campaign; b: device_type, utm_campaign" in found


def test_a_destination_may_take_other_signals_with_their_own_grouping():
    destinations = [{"type": "csv", "id": "a", "signals": ["Lead"], "dimensions": ["utm_campaign"]},
                    {"type": "csv", "id": "b", "signals": ["Contact"], "dimensions": ["device_type"]}]
    assert _problems(POLICY | {"destinations": destinations}) == ""


@pytest.mark.parametrize(("change", "complaint"), [
    ({"patterns": {"utm_campaign": "(unclosed"}}, "not a regular expression"),
    ({"destinations": [{"type": "csv", "id": "a", "signals": ["Nope"]}]}, "names signals no"),
    ({"destinations": [{"type": "meta", "id": "m", "dataset_id": "1", "access_token_env": "lower"}]},
     "environment variable name"),
    ({"window": "week"}, "day, hour"),
    ({"lateness_minutes": 1440, "backfill_days": 1}, "lower the lateness or raise the backfill"),
    ({"signals": [{"event": "appointment_request", "name": "Lead", "value_property": "amount"}]},
     "give it a value_cap above 0"),
])
def test_other_mistakes_are_named(change, complaint):
    assert complaint in _problems(POLICY | change)


@pytest.mark.parametrize("dimension", ["utm_source", "utm_campaign", "utm_medium", "utm_content"])
def test_a_free_text_dimension_sent_with_no_declared_values_is_refused_naming_the_key(dimension):
    destinations = [{"type": "csv", "id": "mmm", "dimensions": [dimension, "device_type", "site"]}]
    values = {d: v for d, v in POLICY["values"].items() if d != dimension}
    found = _problems(POLICY | {"destinations": destinations, "values": values})
    assert f"forwarder.values.{dimension}" in found and "destination 'mmm'" in found
    assert _problems(POLICY | {"destinations": destinations, "values": values,
                               "patterns": {dimension: "knee-(spring|fall)-20[0-9]{2}"}}) == ""


@pytest.mark.parametrize("pattern", [".+", "[a-z0-9-]{1,60}", "[a-z_]+", "\\w+|brand"])
def test_a_pattern_that_lets_free_text_through_is_refused(pattern):
    found = _problems(POLICY | {"patterns": {"utm_campaign": pattern}})
    assert "patterns.utm_campaign lets any text through" in found


def test_dimensions_nobody_writes_in_a_link_need_no_declaration():
    destinations = [{"type": "csv", "id": "mmm", "dimensions": ["device_type", "site"]}]
    assert _problems({k: v for k, v in POLICY.items() if k != "values"} | {"destinations": destinations}) == ""


def test_any_change_is_a_new_version():
    base = msgspec.convert(POLICY, ForwarderSettings)
    assert base.version() == msgspec.convert(POLICY, ForwarderSettings).version()
    assert base.version() != msgspec.convert(POLICY | {"k": 12}, ForwarderSettings).version()
