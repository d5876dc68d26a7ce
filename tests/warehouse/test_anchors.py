"""Anchors: chain heads kept outside the warehouse, against which cut, rewritten and made-up chains show."""

import json
from datetime import UTC, datetime

import msgspec
import pytest

from tests.conftest import AUDIT_KEY
from warehouse import AnchorFile, AuditLog, open_warehouse
from warehouse.audit import entry_hash

FORGER_KEY = None
"""Someone with warehouse access but not the key can only make the plain hashes of entries older than keys."""


@pytest.fixture
def anchors(tmp_path) -> AnchorFile:
    return AnchorFile(tmp_path / "audit-anchors.jsonl", AUDIT_KEY)


@pytest.fixture
def audit(warehouse, anchors) -> AuditLog:
    """The warehouse's main chain, written by a process that anchors it."""
    log = AuditLog(warehouse.client, AUDIT_KEY, anchors=anchors)
    log.anchor()
    return log


def _record(audit: AuditLog, count: int) -> None:
    for n in range(count):
        audit.record("user:mia", "report.read", f"/api/reports/{n}")


def _mutate(warehouse, statement: str) -> None:
    warehouse.client.command(statement, settings={"mutations_sync": 1})


def _reasons(audit: AuditLog) -> list[tuple[str, int, str]]:
    return [(f.chain, f.seq, f.reason) for f in audit.verify().findings]


def _forge(warehouse, chain: str, count: int, *, start: int = 1, prev_hash: str = "0" * 64,
           actor: str = "user:mallory") -> None:
    """Insert `count` made-up entries on `chain` from `start`, linked and hashed as a forger without the key can."""
    rows = []
    for seq in range(start, start + count):
        fields = {"seq": seq, "time": datetime(2026, 12, 1, 10, tzinfo=UTC), "actor": actor, "action": "report.read",
                  "resource": "/", "outcome": "success", "detail": "{}", "prev_hash": prev_hash, "chain": chain}
        prev_hash = entry_hash(FORGER_KEY, **fields)
        rows.append([*fields.values(), prev_hash])
    warehouse.client.insert("audit_log", rows, column_names=["seq", "time", "actor", "action", "resource", "outcome",
                                                              "detail", "prev_hash", "chain", "hash"])


def test_an_anchored_untouched_chain_verifies_against_its_anchors(warehouse, audit):
    _record(audit, 3)
    audit.anchor()
    report = audit.verify()
    assert report.intact and report.anchors == 2 and report.checked == 4


def test_the_head_is_anchored_only_when_it_moved(audit, anchors):
    assert audit.anchor() is None
    _record(audit, 1)
    assert audit.anchor().seq == 2
    assert audit.anchor() is None
    assert [a.seq for a in anchors.read()[0]] == [1, 2]


def test_newest_entries_deleted_after_an_anchor_are_reported_as_cut(warehouse, audit):
    _record(audit, 4)
    audit.anchor()
    _mutate(warehouse, "ALTER TABLE audit_log DELETE WHERE seq >= 4")
    assert _reasons(audit) == [("main", 4, "entries 4 to 5 are gone: the chain was anchored up to 5 but ends at 3")]


def test_entries_deleted_after_the_last_anchor_go_unseen(warehouse, audit):
    """What anchors cannot do, stated as a test: the entries since the newest anchor can be cut unseen."""
    _record(audit, 2)
    audit.anchor()
    _record(audit, 2)
    _mutate(warehouse, "ALTER TABLE audit_log DELETE WHERE seq > 3")
    assert audit.verify().intact


def test_a_chain_re_signed_with_the_key_is_caught_by_an_anchor_inside_it(warehouse, audit):
    """Someone who has the key as well rewrites entry 2 and re-signs every entry after it."""
    _record(audit, 3)
    audit.anchor()
    entries = list(audit.entries())
    prev_hash = entries[0].hash
    for entry in entries[1:]:
        fields = msgspec.structs.asdict(entry) | {"prev_hash": prev_hash}
        fields["actor"] = "user:mallory" if entry.seq == 2 else entry.actor
        del fields["hash"]
        prev_hash = entry_hash(AUDIT_KEY, **fields)
        _mutate(warehouse, f"ALTER TABLE audit_log UPDATE actor = '{fields['actor']}', prev_hash = "
                           f"'{fields['prev_hash']}', hash = '{prev_hash}' WHERE seq = {entry.seq}")
    [(chain, seq, reason)] = _reasons(audit)
    assert (chain, seq) == ("main", 4) and reason.startswith("differs from its anchor of")


def test_a_made_up_chain_is_reported_as_unsigned_and_unanchored(warehouse, audit):
    _forge(warehouse, "serve-ghost", 3)
    found = {reason for chain, _, reason in _reasons(audit) if chain == "serve-ghost"}
    assert any("no anchor covers it" in reason for reason in found)
    assert any("no anchor names this chain" in reason for reason in found)


def test_entries_appended_unsigned_to_a_signed_chain_are_reported(warehouse, audit):
    _record(audit, 2)
    head = list(audit.entries())[-1]
    _forge(warehouse, "main", 2, start=head.seq + 1, prev_hash=head.hash)
    found = _reasons(audit)
    assert [seq for _, seq, _ in found] == [head.seq + 1, head.seq + 2]
    assert all("though entries before it are" in reason for *_, reason in found)


def test_a_whole_chain_deleted_is_reported_as_gone(warehouse, audit, anchors):
    forwarder = AuditLog(warehouse.client, AUDIT_KEY, chain="sluice-forwarder", anchors=anchors)
    forwarder.record("forwarder", "forward.request", "meta")
    forwarder.anchor()
    _mutate(warehouse, "ALTER TABLE audit_log DELETE WHERE chain = 'sluice-forwarder'")
    assert _reasons(audit) == [("sluice-forwarder", 0, "the whole chain is gone: it was anchored up to entry 1 at "
                                                       f"{anchors.read()[0][-1].time:%Y-%m-%d %H:%M:%S} UTC")]


def test_an_edited_or_unsigned_anchor_line_is_reported(warehouse, audit, anchors):
    _record(audit, 1)
    audit.anchor()
    lines = anchors.path.read_text().splitlines()
    forged = json.loads(lines[-1]) | {"seq": 9}
    anchors.path.write_text("\n".join([*lines, json.dumps(forged), "not json"]) + "\n")
    found = [reason for chain, _, reason in _reasons(audit) if not chain]
    assert found == [f"anchor file line {len(lines) + 1}: anchor of chain 'main' is not signed with the audit key "
                     "(edited, or written with another key)",
                     f"anchor file line {len(lines) + 2}: is not an anchor (the file was edited)"]


def test_entries_older_than_keys_verify_once_a_signed_entry_follows_them(warehouse):
    _mutate(warehouse, "TRUNCATE TABLE audit_log")
    _forge(warehouse, "main", 3)  # as an install before audit keys wrote them: plain SHA-256
    upgraded = AuditLog(warehouse.client, AUDIT_KEY)
    upgraded.record("sluice serve", "warehouse.migrate")
    report = upgraded.verify()
    assert report.intact and report.checked == 4


def test_entries_older_than_keys_rewritten_break_the_link_of_the_first_signed_one(warehouse):
    _mutate(warehouse, "TRUNCATE TABLE audit_log")
    _forge(warehouse, "main", 3, actor="user:ann")
    AuditLog(warehouse.client, AUDIT_KEY).record("sluice serve", "warehouse.migrate")
    _mutate(warehouse, "ALTER TABLE audit_log DELETE WHERE seq <= 3")
    _forge(warehouse, "main", 3, actor="user:mallory")  # the old entries, rewritten and re-hashed as they were made
    assert _reasons(warehouse.audit) == [("main", 4, "does not link to the entry before it (a row was removed or "
                                                     "replaced)")]


def test_a_new_anchor_file_pins_every_chain_written_before_keys(warehouse, tmp_path):
    _mutate(warehouse, "TRUNCATE TABLE audit_log")
    _forge(warehouse, "main", 2)
    _forge(warehouse, "old-forwarder", 2)
    audit = AuditLog(warehouse.client, AUDIT_KEY, anchors=AnchorFile(tmp_path / "anchors.jsonl", AUDIT_KEY))
    assert not audit.verify().intact  # unsigned, and no anchor names them yet
    audit.anchor()
    report = audit.verify()
    assert report.intact and report.anchors == 2


def test_a_warehouse_anchors_its_chain_when_opened_and_closed(warehouse_settings, tmp_path):
    path = tmp_path / "anchors.jsonl"
    opened = open_warehouse(warehouse_settings, audit_key=AUDIT_KEY, migrate_as="test", anchors=path)
    opened.audit.record("user:mia", "report.read")
    opened.close()
    anchors, bad = AnchorFile(path, AUDIT_KEY).read()
    assert not bad and [(a.chain, a.seq) for a in anchors] == [("main", 1), ("main", 2)]
