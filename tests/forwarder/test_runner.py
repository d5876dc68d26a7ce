"""A run closes a window into outbox records and delivers them, guarded, recorded, exactly once."""

import json

from tests.forwarder.conftest import YESTERDAY
from warehouse.outbox import Outbox


def test_a_run_sends_released_cells_everywhere_and_records_every_byte(make_forwarder, platforms, clean):
    run = make_forwarder().run(window=YESTERDAY)
    records = Outbox(clean.client).current()
    released = [r for r in records if r.state == "sent"]
    assert released and any(r.state == "suppressed" for r in records)
    assert {r.destination for r in released} == {"meta", "ga4", "tiktok", "hook", "mmm"}
    meta = platforms.to("graph.facebook.com")
    assert meta and sum(len(json.loads(r.content)["data"]) for r in meta) == sum(
        r.destination == "meta" for r in released)
    audit = [e for e in clean.audit.entries() if e.action.startswith("forward.")]
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
