"""The egress guard stops anything that is not exactly the declared, identifier-free payload."""

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from forwarder.adapters.base import Item, generated_strings
from forwarder.adapters.meta import MetaAdapter
from forwarder.errors import Blocked
from forwarder.guard import Request, check
from forwarder.settings import MetaDestination

START = datetime(2026, 11, 20, tzinfo=UTC)
ADAPTER = MetaAdapter(MetaDestination(id="meta", dataset_id="1234567890", access_token_env="T"), "token-value")


def _item(**dimensions) -> Item:
    return Item(key="0123456789abcdef0123456789abcdef", signal="Lead", window_start=START,
                window_end=START + timedelta(days=1), dimensions=dimensions or {"utm_campaign": "flu-shots"},
                visitors=20, conversions=25, value=0.0)


def _check(request: Request, item: Item, identifiers: frozenset[str] = frozenset()) -> None:
    check(request, ADAPTER.shape([item]), allowed=generated_strings(item), identifiers=set(identifiers))


def test_a_clean_payload_passes():
    item = _item()
    _check(ADAPTER.build([item]), item)


@pytest.mark.parametrize(("value", "finding"), [
    ("jane.doe@example.com", "email address"),
    ("203.0.113.7", "IP address"),
    ("2001:db8::1", "IP address"),
    ("https://www.example-hospital.org/oncology?patient=1", "URL"),
    ("www.example-hospital.org", "URL"),
    ("(555) 123-4567", "phone number"),
    ("+1 555 123 4567", "phone number"),
    ("123-45-6789", "social security number"),
    ("MRN 004412", "record number"),
    ("88812345", "record number"),
    ("1984-07-12", "date of birth"),
    ("7/12/84", "date of birth"),
    ("94110", "ZIP code"),
])
def test_a_dimension_that_looks_like_an_identifier_is_blocked(value, finding):
    item = _item(utm_campaign=value)
    with pytest.raises(Blocked, match=finding) as blocked:
        _check(ADAPTER.build([item]), item)
    # The reason is audited and kept: it says where, never what.
    assert str(blocked.value).endswith("at $.data[0].custom_data.utm_campaign") and value not in str(blocked.value)


def test_a_raw_id_of_the_window_is_blocked_wherever_it_hides():
    item = _item(utm_content="promo-3f2a9c1e-77aa-4b8e-9e0b-1c2d3e4f5a6b")
    with pytest.raises(Blocked, match="raw identifier"):
        _check(ADAPTER.build([item]), item, frozenset({"3f2a9c1e-77aa-4b8e-9e0b-1c2d3e4f5a6b"}))


def test_a_field_outside_the_schema_is_blocked():
    item = _item()
    body = msgspec.json.decode(ADAPTER.build([item]).body)
    body["data"][0]["user_data"]["client_ip_address"] = "x"
    request = msgspec.structs.replace(ADAPTER.build([item]), body=msgspec.json.encode(body))
    with pytest.raises(Blocked, match="schema"):
        _check(request, item)


def test_another_url_or_an_extra_header_is_blocked():
    item = _item()
    request = ADAPTER.build([item])
    with pytest.raises(Blocked, match="URL"):
        _check(msgspec.structs.replace(request, url=request.url + "&ref=/oncology"), item)
    with pytest.raises(Blocked, match="headers"):
        _check(msgspec.structs.replace(request, headers=request.headers | {"x-page": "/oncology"}), item)


def test_credentials_never_reach_the_record():
    recorded = ADAPTER.build([_item()]).recorded()
    assert "token-value" not in str(recorded) and "[credential]" in recorded.url


def test_numbers_in_a_csv_file_are_numbers_not_zip_codes_or_record_numbers(tmp_path):
    from forwarder.adapters.csvfile import CsvAdapter
    from forwarder.settings import CsvDestination

    adapter = CsvAdapter(CsvDestination(id="mmm"), tmp_path)
    item = msgspec.structs.replace(_item(), conversions=12345, value=250000.0)
    check(adapter.build([item]), adapter.shape([item]), allowed=generated_strings(item), identifiers=set())


@pytest.mark.parametrize("destination", ["csv", "webhook", "meta"])
@pytest.mark.parametrize("formula", ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tx"])
def test_a_value_a_spreadsheet_would_run_is_blocked_in_files_and_bodies_alike(tmp_path, destination, formula):
    from forwarder.adapters.csvfile import CsvAdapter
    from forwarder.adapters.webhook import WebhookAdapter
    from forwarder.settings import CsvDestination, WebhookDestination

    adapter = {"csv": lambda: CsvAdapter(CsvDestination(id="mmm"), tmp_path),
               "webhook": lambda: WebhookAdapter(WebhookDestination(id="hook", url="https://hooks.example/s",
                                                                    secret_env="S"), "secret"),
               "meta": lambda: ADAPTER}[destination]()
    item = _item(utm_campaign=formula)
    with pytest.raises(Blocked, match="spreadsheet would run"):
        check(adapter.build([item]), adapter.shape([item]), allowed=generated_strings(item), identifiers=set())
    defused = _item(utm_campaign="'" + formula)
    check(adapter.build([defused]), adapter.shape([defused]), allowed=generated_strings(defused), identifiers=set())
