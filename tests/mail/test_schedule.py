"""Scheduled reports, sent to a real SMTP server on loopback (STARTTLS, a login): the week's or month's
figures of a saved view, to internal addresses only, once, and every send and failure audited."""

import email
import email.policy
import ssl
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import msgspec
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from mail.schedule import ACTION, send_due
from mail.settings import MailSettings
from tests.conftest import demo_database, unused_port
from warehouse import reports
from warehouse.goals import GoalKind, Goals
from warehouse.reports import ReportQuery
from warehouse.users import UserRecord, append_user
from warehouse.views import Emailed, SavedView, SavedViews

TODAY = datetime.now(UTC).date()
MONDAY = TODAY - timedelta(days=TODAY.weekday())
LOGIN = {"SLUICE_SMTP_USERNAME": "sluice", "SLUICE_SMTP_PASSWORD": "relay-secret"}


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, parsed))
        return "250 OK"


def _login(server, session, envelope, mechanism, data) -> AuthResult:
    return AuthResult(success=(data.login, data.password) == (b"sluice", b"relay-secret"))


@pytest.fixture(scope="module")
def relay(tmp_path_factory) -> Iterator[tuple[_Inbox, MailSettings]]:
    """An SMTP relay on loopback that asks for STARTTLS and a login, with its certificate from a test CA."""
    ca, inbox, port = trustme.CA(), _Inbox(), unused_port()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_tls)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=server_tls, require_starttls=True,
                            authenticator=_login, auth_required=True)
    controller.start()
    yield inbox, MailSettings(relay="127.0.0.1", port=port, ca_file=str(ca_file), sender="sluice@example-hospital.org",
                              internal_domains=["example-hospital.org"], timeout_seconds=10)
    controller.stop()


@pytest.fixture(scope="module")
def seeded(engine_path):
    with demo_database(engine_path, 8_000, days=30, site="main", seed=4) as warehouse:
        for name in ("mia", "ana"):
            append_user(warehouse.client, UserRecord(username=name, role="marketer", password_hash="-", disabled=False,
                                                     changed_at=datetime.now(UTC), changed_by="test"))
        Goals(warehouse.client).add("main", "Booked", GoalKind.EVENT, "appointment_request", 150, "ana")
        yield warehouse


@pytest.fixture
def weekly(seeded) -> Iterator[SavedViews]:
    views = SavedViews(seeded.client)
    views.save("mia", "Google weekly", SavedView(site="main", filters={"utm_source": "google"}, email=Emailed(
        every="week", to=["marketing@example-hospital.org", "mia@gmail.com"])))
    yield views
    views.remove("mia", "Google weekly")


def test_a_weekly_view_is_emailed_on_monday_with_last_weeks_figures_to_internal_addresses_only(relay, seeded, weekly):
    inbox, settings = relay
    inbox.messages.clear()
    sent = send_due(seeded, settings, ["main"], LOGIN, today=MONDAY)

    assert [(s.view, s.start, s.end) for s in sent] == [("Google weekly", MONDAY - timedelta(days=7),
                                                         MONDAY - timedelta(days=1))]
    (recipients, message), = inbox.messages
    assert recipients == ["marketing@example-hospital.org"]  # not the address outside the organisation
    assert message["Subject"] == f"Sluice report: Google weekly: main, {MONDAY - timedelta(days=7)} to " \
                                 f"{MONDAY - timedelta(days=1)}"
    text = message.get_body(("plain",)).get_content()
    week = ReportQuery(site="main", start=MONDAY - timedelta(days=7), end=MONDAY - timedelta(days=1),
                       filters={"utm_source": "google"})
    figures = reports.overview(seeded.client, week)
    assert f"Visits | {figures.sessions:,} |" in text and f"Page views | {figures.pageviews:,} |" in text
    assert "Filters: utm_source google" in text
    for row in reports.sources(seeded.client, week)[:3]:
        assert f"{row['source']} | {row['visitors']} |" in text
    booked, = reports.goals(seeded.client, week)
    assert f"Booked | {booked['converted']} | {booked['conversion_rate']:.1%}" in text
    assert "<table>" in message.get_body(("html",)).get_content()
    audited = seeded.audit.search(action=ACTION)[0][0]
    assert (audited.actor, audited.outcome, audited.resource) == (
        "system:mail", "success", f"view:mia/Google weekly:{MONDAY - timedelta(days=7)}")
    assert '"to":["marketing@example-hospital.org"]' in audited.detail


def test_a_report_on_record_as_sent_is_not_sent_again_and_none_is_due_midweek(relay, seeded, weekly):
    inbox, settings = relay
    send_due(seeded, settings, ["main"], LOGIN, today=MONDAY)
    inbox.messages.clear()
    assert send_due(seeded, settings, ["main"], LOGIN, today=MONDAY) == []  # a second instance, or a restart
    assert send_due(seeded, settings, ["main"], LOGIN, today=MONDAY + timedelta(days=2)) == []
    assert inbox.messages == []


def test_a_monthly_view_goes_out_on_the_first_with_the_month_before(relay, seeded):
    inbox, settings = relay
    inbox.messages.clear()
    SavedViews(seeded.client).save("ana", "Month", SavedView(site="main", email=Emailed(
        every="month", to=["ana@clinic.example-hospital.org"])))
    first = TODAY.replace(day=1)
    sent = send_due(seeded, settings, ["main"], LOGIN, today=first)
    last_month = (first - timedelta(days=1)).replace(day=1)
    assert [(s.view, s.start, s.end) for s in sent] == [("Month", last_month, first - timedelta(days=1))]
    assert inbox.messages[0][0] == ["ana@clinic.example-hospital.org"]
    SavedViews(seeded.client).remove("ana", "Month")


@pytest.mark.parametrize("env", [{}, {"SLUICE_SMTP_USERNAME": "sluice", "SLUICE_SMTP_PASSWORD": "wrong"}])
def test_a_relay_that_refuses_the_report_is_audited_as_a_failure_and_retried_next_time(relay, seeded, weekly, env):
    inbox, settings = relay
    inbox.messages.clear()
    monday = MONDAY + timedelta(days=7)  # a week not yet on record
    assert send_due(seeded, settings, ["main"], env, today=monday) == []
    failed = seeded.audit.search(action=ACTION, outcome="failure")[0][0]
    assert failed.resource == f"view:mia/Google weekly:{monday - timedelta(days=7)}" and "did not take" in failed.detail
    assert len(send_due(seeded, settings, ["main"], LOGIN, today=monday + timedelta(days=1))) == 1  # the next day


def test_a_relay_without_a_sender_or_internal_domains_is_refused_in_the_settings():
    with pytest.raises(ValueError, match="internal_domains"):
        MailSettings(relay="smtp.example-hospital.org", sender="sluice@example-hospital.org")


def test_a_relay_whose_certificate_is_not_trusted_gets_no_report(relay, seeded, weekly):
    inbox, settings = relay
    inbox.messages.clear()
    untrusted = msgspec.structs.replace(settings, ca_file="")  # the system's CAs: not the test CA
    assert send_due(seeded, untrusted, ["main"], LOGIN, today=MONDAY + timedelta(days=14)) == []
    assert inbox.messages == [] and "CERTIFICATE_VERIFY_FAILED" in seeded.audit.search(
        action=ACTION, outcome="failure")[0][0].detail


def test_the_views_of_a_disabled_account_are_no_longer_emailed(relay, seeded, weekly):
    inbox, settings = relay
    inbox.messages.clear()
    append_user(seeded.client, UserRecord(username="mia", role="marketer", password_hash="-", disabled=True,
                                          changed_at=datetime.now(UTC), changed_by="test"))
    try:
        monday = MONDAY + timedelta(days=21)
        assert send_due(seeded, settings, ["main"], LOGIN, today=monday) == [] and inbox.messages == []
        failed = seeded.audit.search(action=ACTION, outcome="failure")[0][0]
        assert failed.resource.startswith("view:mia/") and "disabled" in failed.detail
    finally:
        append_user(seeded.client, UserRecord(username="mia", role="marketer", password_hash="-", disabled=False,
                                              changed_at=datetime.now(UTC), changed_by="test"))


def test_a_relay_in_the_clear_is_only_for_this_host():
    with pytest.raises(ValueError, match="only for a relay on this host"):
        MailSettings(relay="smtp.example-hospital.org", security="none", sender="s@example-hospital.org",
                     internal_domains=["example-hospital.org"])
