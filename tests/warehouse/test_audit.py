from concurrent.futures import ThreadPoolExecutor

import msgspec

from tests.conftest import AUDIT_KEY
from warehouse import AuditLog
from warehouse.audit import AuditEntry, entry_hash


def _tamper(warehouse, assignment: str, seq: int) -> None:
    warehouse.client.command(
        f"ALTER TABLE audit_log UPDATE {assignment} WHERE seq = {seq}", settings={"mutations_sync": 1}
    )


def _first(warehouse):
    return warehouse.audit.verify().findings[0]


def _rewrite(warehouse, start: int, key: bytes | None) -> None:
    """Re-hash the main chain from entry `start` on, with mallory as the actor of that entry."""
    entries = [e for e in warehouse.audit.entries() if e.chain == "main"]
    prev_hash = entries[start - 2].hash if start > 1 else "0" * 64
    for entry in entries[start - 1:]:
        fields = msgspec.structs.asdict(entry) | {"prev_hash": prev_hash}
        if entry.seq == start:
            fields["actor"] = "mallory"
        del fields["hash"]
        prev_hash = entry_hash(key, **fields)
        _tamper(warehouse, f"actor = '{fields['actor']}', prev_hash = '{fields['prev_hash']}', hash = '{prev_hash}'",
                entry.seq)


def _record_three(audit: AuditLog) -> None:
    audit.record("alice", "report.read", "/api/reports/overview", detail={"rows": 12})
    audit.record("bob", "login", "session", outcome="failure", detail={"reason": "bad password"})
    audit.record("carol", "user.disable", "user:bob", outcome="denied")


def test_entries_form_a_chain_from_the_first(warehouse):
    _record_three(warehouse.audit)
    entries = list(warehouse.audit.entries())
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(entries, entries[1:]))
    assert entries[-1].actor == "carol" and entries[-1].outcome == "denied"


def test_an_untouched_chain_verifies(warehouse):
    _record_three(warehouse.audit)
    report = warehouse.audit.verify()
    assert report.intact and report.checked == 4  # the migration entry and three more


def test_an_altered_row_is_reported_and_the_rows_after_it_still_verify(warehouse):
    _record_three(warehouse.audit)
    _tamper(warehouse, "actor = 'mallory'", 3)
    report = warehouse.audit.verify()
    assert [(f.seq, "altered" in f.reason) for f in report.findings] == [(3, True)]
    assert report.checked == 3  # entries 1, 2 and 4


def test_a_first_finding_does_not_hide_a_later_one(warehouse):
    """A copied row reads like two writers on one chain; an edit further on must not hide behind it."""
    entry = warehouse.audit.record("alice", "report.read")
    columns = list(AuditEntry.__struct_fields__)
    warehouse.client.insert("audit_log", [[getattr(entry, c) for c in columns]], column_names=columns,
                            settings={"insert_deduplicate": 0})
    _record_three(warehouse.audit)
    _tamper(warehouse, "actor = 'user:framed'", 5)
    assert [(f.seq, f.reason.split(" (")[0]) for f in warehouse.audit.verify().findings] == [
        (2, "appears twice"), (5, "contents do not match its signature")]


def test_an_altered_detail_is_detected(warehouse):
    _record_three(warehouse.audit)
    _tamper(warehouse, "detail = '{\"rows\":0}'", 2)
    assert _first(warehouse).seq == 2


def test_a_removed_row_is_detected(warehouse):
    _record_three(warehouse.audit)
    warehouse.client.command("DELETE FROM audit_log WHERE seq = 2")
    broken = _first(warehouse)
    assert broken.seq == 2 and "missing" in broken.reason


def test_a_row_re_hashed_without_the_key_does_not_verify(warehouse):
    _record_three(warehouse.audit)
    entry = next(e for e in warehouse.audit.entries() if e.seq == 2)
    # The forger knows the algorithm and every row, but not the key: a plain SHA-256 is all they can make.
    fields = msgspec.structs.asdict(entry) | {"actor": "mallory"}
    del fields["hash"]
    _tamper(warehouse, f"actor = 'mallory', hash = '{entry_hash(None, **fields)}'", 2)
    broken = _first(warehouse)
    assert broken.seq == 2 and "not signed with the audit key" in broken.reason


def test_a_chain_re_hashed_from_an_edited_row_on_without_the_key_does_not_verify(warehouse):
    _record_three(warehouse.audit)
    _rewrite(warehouse, 2, key=None)
    broken = _first(warehouse)
    assert broken.seq == 2 and "not signed with the audit key" in broken.reason


def test_a_chain_re_hashed_from_its_first_row_without_the_key_does_not_verify(warehouse):
    _record_three(warehouse.audit)
    _rewrite(warehouse, 1, key=None)  # every row now carries a plain hash, as if written before keys
    broken = _first(warehouse)
    assert broken.seq == 4 and "no anchor covers it" in broken.reason


def test_a_chain_re_signed_with_another_key_does_not_verify(warehouse):
    _record_three(warehouse.audit)
    _rewrite(warehouse, 1, key=b"another key, of the same length!")
    broken = _first(warehouse)
    assert broken.seq == 1 and "do not match its signature" in broken.reason


def test_a_new_writer_continues_the_existing_chain(warehouse):
    _record_three(warehouse.audit)
    AuditLog(warehouse.client, AUDIT_KEY).record("dave", "audit.verify", "audit_log")
    report = warehouse.audit.verify()
    assert report.intact and report.checked == 5


def test_details_are_stored_as_canonical_json(warehouse):
    entry = warehouse.audit.record("alice", "export", "csv", detail={"b": 2, "a": "é"})
    assert entry.detail == '{"a":"é","b":2}'


def test_writers_with_stale_heads_on_one_chain_take_turns_and_never_fork_it(warehouse):
    other = AuditLog(warehouse.client, AUDIT_KEY)
    warehouse.audit.record("serve-a", "x")  # this writer now believes entry 2 is the head
    other.record("serve-b", "y")  # entry 3
    warehouse.audit.record("serve-a", "z")  # would be 3 from its stale head: it finds 3 taken and writes 4
    report = warehouse.audit.verify()
    assert report.intact and report.checked == 4
    assert [(e.seq, e.actor) for e in warehouse.audit.entries()][1:] == [(2, "serve-a"), (3, "serve-b"), (4, "serve-a")]


def test_many_writers_at_once_on_one_chain_leave_one_unbroken_chain(warehouse):
    writers = [AuditLog(warehouse.client, AUDIT_KEY) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: writers[n % 4].record(f"writer-{n % 4}", "report.read", str(n)), range(40)))
    report = warehouse.audit.verify()
    assert report.intact and report.checked == 41
    assert sorted(int(e.resource) for e in warehouse.audit.entries() if e.action == "report.read") == list(range(40))


def test_a_link_inserted_twice_is_reported_as_a_repeated_entry(warehouse):
    entry = warehouse.audit.record("alice", "report.read")
    warehouse.client.insert("audit_log", [[entry.seq, entry.time, "mallory", entry.action, entry.resource,
                                           entry.outcome, entry.detail, entry.prev_hash, entry.hash, entry.chain]],
                            column_names=["seq", "time", "actor", "action", "resource", "outcome", "detail",
                                          "prev_hash", "hash", "chain"], settings={"insert_deduplicate": 0})
    broken = _first(warehouse)
    assert broken.seq == 2 and "appears twice" in broken.reason


def test_services_writing_side_by_side_keep_chains_of_their_own(warehouse):
    forwarder = AuditLog(warehouse.client, AUDIT_KEY, chain="forwarder")
    for n in range(3):
        warehouse.audit.record("user:mia", "report.read", f"/api/reports/{n}")
        forwarder.record("forwarder", "forward.request", "meta", detail={"n": n})
    report = warehouse.audit.verify()
    assert report.intact and report.checked == 7  # the migration entry, and three on each chain
    assert [e.seq for e in warehouse.audit.entries() if e.chain == "forwarder"] == [1, 2, 3]
    newest, _ = warehouse.audit.search(limit=2)
    assert [(e.chain, e.actor) for e in newest] == [("forwarder", "forwarder"), ("main", "user:mia")]


def test_a_broken_link_names_its_chain(warehouse):
    forwarder = AuditLog(warehouse.client, AUDIT_KEY, chain="forwarder")
    forwarder.record("forwarder", "forward.request", "meta")
    forwarder.record("forwarder", "forward.response", "meta")
    warehouse.client.command("ALTER TABLE audit_log UPDATE actor = 'mallory' WHERE chain = 'forwarder' AND seq = 1",
                             settings={"mutations_sync": 1})
    broken = _first(warehouse)
    assert (broken.chain, broken.seq) == ("forwarder", 1) and "altered" in broken.reason


def test_a_chain_name_cannot_be_swapped_without_breaking_the_hash(warehouse):
    AuditLog(warehouse.client, AUDIT_KEY, chain="forwarder").record("forwarder", "forward.request", "meta")
    warehouse.client.command("ALTER TABLE audit_log UPDATE chain = 'other' WHERE chain = 'forwarder'",
                             settings={"mutations_sync": 1})
    assert not warehouse.audit.verify().intact


def test_after_the_newest_entry_is_deleted_recording_goes_on_and_verify_reports_the_gap(warehouse):
    for n in range(3):
        warehouse.audit.record("user:mia", "report.read", str(n))
    warehouse.client.command("ALTER TABLE audit_log DELETE WHERE seq = 4", settings={"mutations_sync": 1})
    AuditLog(warehouse.client, AUDIT_KEY).record("user:mia", "report.read", "after")  # a writer that never saw entry 4
    broken = _first(warehouse)
    assert (broken.seq, broken.reason) == (4, "entry 4 is missing (next found is 5)")
