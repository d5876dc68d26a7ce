"""The append-only, hash-chained audit log.

Each entry's hash covers its contents and the previous entry's hash, so altering, removing or
reordering a row breaks the chain from that row on, and `verify` names the first broken link.
Each instance keeps a chain of its own (named in its config, its forwarder service another), and
writers that do share a chain still never fork it: a link's number is its insert's deduplication token.
"""

import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import closing
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
from clickhouse_connect.driver.client import Client

from warehouse.errors import WarehouseError

Outcome = Literal["success", "failure", "denied"]
GENESIS = "0" * 64
MAIN = "main"
_ATTEMPTS = 20


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    time: datetime
    actor: str
    action: str
    resource: str
    outcome: str
    detail: str
    """Canonical JSON of the entry's details."""
    prev_hash: str
    hash: str
    chain: str = MAIN


_COLUMNS = list(AuditEntry.__struct_fields__)


def _entry(row: tuple) -> AuditEntry:
    return AuditEntry(**dict(zip(_COLUMNS, row, strict=True)))


class BrokenLink(msgspec.Struct, frozen=True):
    seq: int
    reason: str
    chain: str = MAIN


class ChainReport(msgspec.Struct, frozen=True):
    checked: int
    broken: BrokenLink | None = None

    @property
    def intact(self) -> bool:
        return self.broken is None


class AuditLog:
    """Records entries on its chain and verifies every chain."""

    def __init__(self, client: Client, chain: str = MAIN) -> None:
        self._client = client
        self._chain = chain
        self._lock = threading.Lock()
        self._head: tuple[int, str] | None = None

    def record(
        self,
        actor: str,
        action: str,
        resource: str = "",
        outcome: Outcome = "success",
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one entry to the chain and return it.

        Each link is inserted with a deduplication token made from its chain and number, so when another
        writer took that number first ClickHouse drops this insert: the entry is then built again on the new head.
        """
        with self._lock:
            for _ in range(_ATTEMPTS):
                seq, prev_hash = self._head or self._read_head()
                fields = {
                    "seq": seq + 1,
                    "time": datetime.now(UTC),
                    "actor": actor,
                    "action": action,
                    "resource": resource,
                    "outcome": outcome,
                    "detail": _canonical(detail or {}),
                    "prev_hash": prev_hash,
                    "chain": self._chain,
                }
                entry = AuditEntry(**fields, hash=entry_hash(**fields))
                self._head = None  # if the insert fails or loses, the next attempt re-reads the head
                self._client.insert("audit_log", [[getattr(entry, c) for c in _COLUMNS]], column_names=_COLUMNS,
                                    settings={"insert_deduplication_token": f"audit:{self._chain}:{entry.seq}",
                                              "insert_deduplicate": 1, "async_insert": 0})
                stored = self._stored_hash(entry.seq)
                if stored == entry.hash:
                    self._head = (entry.seq, entry.hash)
                    return entry
                if not stored:
                    # No row holds the number, yet its token is spent: that link was deleted. Writing on past
                    # it keeps the service up and leaves the gap for `verify` to report.
                    self._head = (entry.seq, prev_hash)
            raise WarehouseError(f"audit chain {self._chain!r}: {_ATTEMPTS} other writers took the next link first")

    def entries(self) -> Iterator[AuditEntry]:
        """Every entry, chain by chain in chain order, streamed."""
        query = f"SELECT {', '.join(_COLUMNS)} FROM audit_log ORDER BY chain, seq"
        with self._client.query_rows_stream(query) as rows:
            for row in rows:
                yield _entry(row)

    def verify(self) -> ChainReport:
        """Re-walk every chain from its first entry and report the first broken link."""
        chain, expected_seq, prev_hash, checked = None, 1, GENESIS, 0
        with closing(self.entries()) as entries:
            for entry in entries:
                if entry.chain != chain:
                    chain, expected_seq, prev_hash = entry.chain, 1, GENESIS
                broken = _check(entry, expected_seq, prev_hash)
                if broken:
                    return ChainReport(checked=checked, broken=broken)
                expected_seq, prev_hash, checked = entry.seq + 1, entry.hash, checked + 1
        return ChainReport(checked=checked)

    def search(self, *, actor: str = "", action: str = "", outcome: str = "", since: datetime | None = None,
               until: datetime | None = None, offset: int = 0, limit: int = 100) -> tuple[list[AuditEntry], int]:
        """Entries matching every given filter, newest first, and how many match in all."""
        clauses, parameters = ["1"], {}
        for name, value in (("actor", actor), ("action", action), ("outcome", outcome)):
            if value:
                clauses.append(f"{name} = {{{name}:String}}")
                parameters[name] = value
        if since:
            clauses.append("time >= {since:DateTime64(6)}")
            parameters["since"] = since
        if until:
            clauses.append("time < {until:DateTime64(6)}")
            parameters["until"] = until
        where = " AND ".join(clauses)
        settings = {"max_execution_time": 10}
        total = self._client.query(f"SELECT count() FROM audit_log WHERE {where}", parameters=parameters,
                                   settings=settings).result_rows[0][0]
        rows = self._client.query(
            f"SELECT {', '.join(_COLUMNS)} FROM audit_log WHERE {where} ORDER BY time DESC, chain, seq DESC"
            " LIMIT {limit:UInt32} OFFSET {offset:UInt64}",
            parameters=parameters | {"limit": limit, "offset": offset}, settings=settings).result_rows
        return [_entry(row) for row in rows], total

    def _stored_hash(self, seq: int) -> str:
        return self._client.command("SELECT any(hash) FROM audit_log WHERE chain = {chain:String} AND seq = {seq:UInt64}",
                                    parameters={"chain": self._chain, "seq": seq})

    def _read_head(self) -> tuple[int, str]:
        rows = self._client.query("SELECT seq, hash FROM audit_log WHERE chain = {chain:String} ORDER BY seq DESC LIMIT 1",
                                  parameters={"chain": self._chain}).result_rows
        return (rows[0][0], rows[0][1]) if rows else (0, GENESIS)


def entry_hash(*, seq: int, time: datetime, actor: str, action: str, resource: str, outcome: str,
               detail: str, prev_hash: str, chain: str = MAIN) -> str:
    """SHA-256 over the previous hash and the entry's canonical contents (the chain's name too, but for main)."""
    contents = [seq, time.astimezone(UTC).isoformat(), actor, action, resource, outcome, detail]
    body = _canonical(contents if chain == MAIN else [*contents, chain])
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def _check(entry: AuditEntry, expected_seq: int, prev_hash: str) -> BrokenLink | None:
    chain = entry.chain
    if entry.seq == expected_seq - 1:
        return BrokenLink(entry.seq, "appears twice (two writers on one chain, or a row was copied)", chain)
    if entry.seq != expected_seq:
        return BrokenLink(expected_seq, f"entry {expected_seq} is missing (next found is {entry.seq})", chain)
    if entry.prev_hash != prev_hash:
        return BrokenLink(entry.seq, "does not link to the entry before it (a row was removed or replaced)", chain)
    fields = msgspec.structs.asdict(entry)
    del fields["hash"]
    if entry.hash != entry_hash(**fields):
        return BrokenLink(entry.seq, "contents do not match the recorded hash (the row was altered)", chain)
    return None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
