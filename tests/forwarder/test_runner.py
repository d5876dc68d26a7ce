"""A run closes a window into outbox records and delivers them, guarded, recorded, exactly once."""

import json
from datetime import timedelta

import httpx
import msgspec
import pytest

from tests.forwarder.conftest import NOW, POLICY, YESTERDAY, settings
from warehouse.outbox import Outbox, State


def _new_entries(warehouse, before: int) -> list:
    return list(warehouse.audit.entries())[before:]


def test_a_run_sends_released_cells_everywhere_and_records_every_byte(make_forwarder, platforms, clean):
    before = len(list(clean.audit.entries()))
    run = make_forwarder().run(window=YESTERDAY)
    records = Outbox(clean.client).current()
    released = [r for r in records if r.state == "sent"]
    assert released and any(r.state == "suppressed" for r in records)
    assert {r.destination for r in released} == {"meta", "ga4", "tiktok", "hook", "mmm"}
    meta = platforms.to("graph.facebook.com")
    assert meta and sum(len(json.loads(r.content)["data"]) for r in meta) == sum(
        r.destination == "meta" for r in released)
    audit = [e for e in _new_entries(clean, before) if e.action.startswith("forward.")]
    requests = [e for e in audit if e.action == "forward.request"]
    files = [e for e in requests if json.loads(e.detail)["request"]["method"] == "WRITE"]
    assert len(files) == 2 and len(requests) == len(platforms.requests) + len(files)  # a file per signal
    recorded = json.loads(requests[0].detail)["request"]
    assert recorded["body"] == platforms.requests[0].content.decode()
    assert "meta-secret-token" not in requests[0].detail and "[credential]" in recorded["url"]
    assert run.outcomes["sent"] == len(released)


def test_running_a_window_again_sends_nothing_twice(make_forwarder, platforms):
    make_forwarder().run(window=YESTERDAY)
    sent = len(platforms.requests)
    make_forwarder().run(window=YESTERDAY)
    assert len(platforms.requests) == sent


def test_a_retryable_refusal_is_tried_again_after_its_pause_and_a_final_one_is_dead(make_forwarder, platforms, clean):

    only_meta = settings(destinations=[d for d in POLICY["destinations"] if d["id"] == "meta"])
    platforms.answers = [httpx.Response(500, json={"error": {"code": 2, "message": "service"}})] * 2
    make_forwarder(only_meta).run(window=YESTERDAY)
    states = {r.state for r in Outbox(clean.client).current("meta") if r.state != "suppressed"}
    assert states == {"failed"}
    make_forwarder(only_meta).run(window=YESTERDAY)  # not yet due: nothing sent
    assert len(platforms.requests) == 2
    later = make_forwarder(only_meta, clock=lambda: NOW + timedelta(hours=2))
    later.run(window=YESTERDAY)
    assert {r.state for r in Outbox(clean.client).current("meta") if r.state != "suppressed"} == {"sent"}
    platforms.answers = [httpx.Response(400, json={"error": {"code": 100, "message": "Invalid parameter"}})] * 9
    clean.client.command("TRUNCATE TABLE outbox")
    make_forwarder(only_meta).run(window=YESTERDAY)
    dead = [r for r in Outbox(clean.client).current("meta") if r.state == "dead"]
    assert dead and all("code 100" in r.reason and r.attempts == 1 for r in dead)


def test_after_a_crash_mid_send_only_platforms_that_drop_repeats_get_the_cells_again(make_forwarder, platforms, clean):

    two = settings(destinations=[d for d in POLICY["destinations"] if d["id"] in ("meta", "ga4")])

    def crash(request):
        raise SystemExit("the process died while the request was out")

    crashing = make_forwarder(two, http=httpx.Client(transport=httpx.MockTransport(crash)))
    with pytest.raises(SystemExit):
        crashing.run(window=YESTERDAY, destination="meta")
    with pytest.raises(SystemExit):
        crashing.run(window=YESTERDAY, destination="ga4")
    assert {r.state for r in Outbox(clean.client).current() if r.state != "suppressed"} == {"sending", "pending"}
    make_forwarder(two).run(window=YESTERDAY)
    meta = Outbox(clean.client).current("meta")
    assert {r.state for r in meta if r.state != "suppressed"} == {"sent"}
    resent = [e["event_id"] for r in platforms.to("graph.facebook.com") for e in json.loads(r.content)["data"]]
    assert set(resent) == {r.key for r in meta if r.state == "sent"}  # the same event ids: Meta drops repeats
    ga4 = [r for r in Outbox(clean.client).current("ga4") if r.state != "suppressed"]
    lost = [r for r in ga4 if r.state == "dead"]
    assert len(lost) == 1 and "not sent again" in lost[0].reason  # the one in flight; GA4 keeps repeats
    assert {r.state for r in ga4} == {"dead", "sent"}


def test_a_broken_adapter_that_leaks_is_blocked_audited_and_sends_nothing(make_forwarder, platforms, clean,
                                                                         monkeypatch):
    from forwarder.adapters import meta

    build = meta.MetaAdapter.build

    def leaky(self, items):
        leaked = [msgspec.structs.replace(i, dimensions=i.dimensions | {"utm_content": leak})
                  for i, leak in zip(items, ["jane@example.com", "203.0.113.9", "https://x.example.org/a"] * 99)]
        return build(self, leaked)

    monkeypatch.setattr(meta.MetaAdapter, "build", leaky)
    before = len(list(clean.audit.entries()))
    make_forwarder(settings(destinations=[d for d in POLICY["destinations"] if d["id"] == "meta"])).run(
        window=YESTERDAY)
    assert platforms.requests == []
    records = [r for r in Outbox(clean.client).current("meta") if r.state != "suppressed"]
    assert records and {r.state for r in records} == {"blocked"}
    entries = _new_entries(clean, before)
    blocked = [e for e in entries if e.action == "forward.blocked"]
    assert blocked and blocked[0].outcome == "denied" and "email address" in blocked[0].detail
    assert not [e for e in entries if e.action == "forward.request"]


def test_a_dry_run_shows_cells_and_requests_and_changes_nothing(make_forwarder, platforms, clean):
    run = make_forwarder().run(window=YESTERDAY, dry_run=True)
    decisions = run.decisions[YESTERDAY]
    assert any(d.released for d in decisions) and any(not d.released for d in decisions)
    assert {p.destination for p in run.requests} == {"meta", "ga4", "tiktok", "hook", "mmm"}
    assert all(not p.blocked for p in run.requests)
    assert platforms.requests == [] and Outbox(clean.client).current() == []
    assert "meta-secret-token" not in str([p.request for p in run.requests])


def test_windows_close_after_their_lateness_and_only_recent_ones_are_due(make_forwarder):
    from datetime import UTC, datetime


    at = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)
    daily = make_forwarder(settings(lateness_minutes=120, backfill_days=2), clock=lambda: at)
    assert daily.windows_due() == [datetime(2026, 11, 20, tzinfo=UTC)]  # the 21st closes at 02:00 on the 22nd
    later = make_forwarder(settings(lateness_minutes=120, backfill_days=2), clock=lambda: at + timedelta(hours=1))
    assert later.windows_due() == [datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)]
    hourly = make_forwarder(settings(window="hour", lateness_minutes=30, backfill_days=1), clock=lambda: at)
    due = hourly.windows_due()
    assert due[-1] == datetime(2026, 11, 22, 0, tzinfo=UTC) and due[0] == datetime(2026, 11, 21, 1, tzinfo=UTC)


def test_each_destination_has_one_coalesced_job_on_the_schedule(make_forwarder):
    from datetime import UTC, datetime

    from apscheduler.schedulers.background import BackgroundScheduler

    from forwarder.schedule import schedule

    scheduler = BackgroundScheduler(timezone=UTC)
    at = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    schedule(scheduler, make_forwarder(), now=at)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"forward:meta", "forward:ga4", "forward:tiktok", "forward:hook", "forward:mmm"}
    job = jobs["forward:meta"]
    assert job.coalesce and job.max_instances == 1 and job.args == ("meta",)
    assert job.trigger.get_next_fire_time(at, at) == at + timedelta(minutes=15)


def test_each_new_policy_version_is_recorded_once(make_forwarder, clean):

    before = len(list(clean.audit.entries()))
    make_forwarder(settings(k=13)).record_policy()
    make_forwarder(settings(k=13)).record_policy()
    make_forwarder(settings(k=14)).record_policy()
    recorded = [e for e in _new_entries(clean, before) if e.action == "forward.policy"]
    assert [e.resource for e in recorded] == [f"policy {settings(k=13).version()}", f"policy {settings(k=14).version()}"]
    assert '"k":14' in recorded[1].detail


def test_a_window_that_does_not_start_where_windows_start_is_refused(make_forwarder, platforms):
    from forwarder.errors import InvalidWindow

    with pytest.raises(InvalidWindow, match="starts at"):
        make_forwarder().run(window=YESTERDAY + timedelta(minutes=30))
    assert platforms.requests == []


def test_an_absurd_retry_after_still_leaves_a_retryable_record(make_forwarder, platforms, clean):

    platforms.answers = [httpx.Response(503, headers={"retry-after": "inf"}, json={"error": "x"})] * 9
    make_forwarder(settings(destinations=[d for d in POLICY["destinations"] if d["id"] == "meta"])).run(
        window=YESTERDAY)
    failed = [r for r in Outbox(clean.client).current("meta") if r.state != "suppressed"]
    assert failed and {r.state for r in failed} == {"failed"}


def test_two_instances_forwarding_at_once_send_each_cell_once(make_forwarder, platforms, clean):
    from concurrent.futures import ThreadPoolExecutor

    from forwarder.errors import ForwarderBusy

    instances = [make_forwarder(instance="serve-a"), make_forwarder(instance="serve-b")]

    def run(forwarder):
        try:
            return forwarder.run(window=YESTERDAY)
        except ForwarderBusy:
            return None

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(run, instances))
    for forwarder in instances:  # whoever was refused runs again, after the other
        forwarder.run(window=YESTERDAY)
    sent = [r for r in Outbox(clean.client).current() if r.state == "sent"]
    events = [event["event_id"] for r in platforms.to("graph.facebook.com") for event in json.loads(r.content)["data"]]
    assert len(events) == len(set(events)) == sum(r.destination == "meta" for r in sent)


def test_while_another_instance_holds_the_outbox_a_run_is_refused_and_the_schedule_skips(make_forwarder, platforms,
                                                                                          clean):
    from forwarder.errors import ForwarderBusy
    from forwarder.runner import LEASE
    from warehouse.leases import Leases

    leases = Leases(clean.client)
    assert leases.acquire(LEASE, "serve-b", ttl=60)
    forwarder = make_forwarder(instance="serve-a")
    with pytest.raises(ForwarderBusy, match="serve-b"):
        forwarder.run(window=YESTERDAY)
    forwarder.run_destination("meta")
    assert platforms.requests == [] and Outbox(clean.client).current() == []
    leases.release(LEASE, "serve-b")
    forwarder.run_destination("meta")
    assert platforms.to("graph.facebook.com")


def test_a_run_whose_lease_lapses_stops_before_sending_more(make_forwarder, platforms, clean, monkeypatch):
    from forwarder.errors import ForwarderBusy

    monkeypatch.setattr("forwarder.runner._LEASE_SECONDS", 0.001)  # lapsed before the run's first renewal
    with pytest.raises(ForwarderBusy, match="lost"):
        make_forwarder(instance="serve-a").run(window=YESTERDAY)
    assert platforms.requests == []


def test_switching_from_days_to_hours_sends_no_second_grouping_of_a_day_already_sent(make_forwarder, platforms, clean):
    make_forwarder().run(window=YESTERDAY)
    hourly = make_forwarder(settings(window="hour", lateness_minutes=60, backfill_days=2))
    assert all(not hourly.run(window=YESTERDAY + timedelta(hours=h), dry_run=True).decisions[
        YESTERDAY + timedelta(hours=h)] for h in (0, 9, 23))  # a dry run shows what a run would do: nothing
    hourly.run()  # every hour due within the backfill, yesterday's among them
    records = Outbox(clean.client).current()
    yesterday = [r for r in records if YESTERDAY <= r.window_start < YESTERDAY + timedelta(days=1)]
    assert {r.window_end - r.window_start for r in yesterday if r.state != State.COVERED} == {timedelta(days=1)}
    covered = {r.window_start for r in yesterday if r.state == State.COVERED}
    due = {start for start in hourly.windows_due() if YESTERDAY <= start < YESTERDAY + timedelta(days=1)}
    assert len(due) >= 20 and covered == due
    counts = {(c.window_start, c.state) for c in Outbox(clean.client).status().counts}
    assert (YESTERDAY + timedelta(hours=9), "covered") in counts


def test_which_sites_count_consent_until_refused_is_part_of_the_recorded_policy(make_forwarder, clean):
    make_forwarder().record_policy()
    opt_out = make_forwarder(opt_out_sites=frozenset({"main"}))
    opt_out.record_policy()
    recorded, _ = clean.audit.search(action="forward.policy", limit=5)
    assert recorded[0].resource == f"policy {opt_out.version()}" != recorded[1].resource
    assert json.loads(recorded[0].detail)["opt_out_sites"] == ["main"]
