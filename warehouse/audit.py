"""The append-only audit log: chains of entries signed with a key the warehouse never sees.

Each entry's signature (HMAC-SHA256 with the audit key) covers its contents and the previous entry's,
so without the key no row can be altered, removed, reordered or re-signed unseen, and the heads
written to the anchor file show rows cut from a chain's end. Each instance keeps a chain of its own
(named in its config, its forwarder service another), and writers that do share a chain still never
fork it: a link's number is its insert's deduplication token. Entries written before audit keys
existed carry a plain SHA-256; they verify as long as a signed entry or an anchor follows them.
"""

import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import closing
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from warehouse.anchors import Anchor, AnchorFile
from warehouse.errors import WarehouseError, first_line

log = logging.getLogger("sluice.audit")

Outcome = Literal["success", "failure", "denied"]
GENESIS = "0" * 64
MAIN = "main"
_ATTEMPTS = 20
_FINDINGS_PER_CHAIN = 100


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
    """The entry's signature: HMAC-SHA256 under the audit key (plain SHA-256 on entries older than keys)."""
    chain: str = MAIN


_COLUMNS = list(AuditEntry.__struct_fields__)


def _entry(row: tuple) -> AuditEntry:
    return AuditEntry(**dict(zip(_COLUMNS, row, strict=True)))


class Finding(msgspec.Struct, frozen=True):
    """Something `verify` found wrong: at one entry of a chain, or (seq 0) with a whole chain or the anchors."""

    chain: str
    seq: int
    reason: str


class ChainReport(msgspec.Struct, frozen=True):
    checked: int
    findings: list[Finding] = []
    anchors: int | None = None
    """How many anchors the chains were checked against; none without an anchor file."""

    @property
    def intact(self) -> bool:
        return not self.findings


class AuditLog:
    """Records signed entries on its chain, anchors its head, and verifies every chain."""

    def __init__(self, client: Client, key: bytes, chain: str = MAIN, anchors: AnchorFile | None = None) -> None:
        self._client = client
        self._key = key
        self._chain = chain
        self._anchors = anchors
        self._lock = threading.Lock()
        self._head: tuple[int, str] | None = None
        self._anchored: tuple[int, str] | None = None

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
                entry = AuditEntry(**fields, hash=entry_hash(self._key, **fields))
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

    def anchor(self) -> Anchor | None:
        """Write this chain's head, as this process last wrote or read it, to the anchor file if it moved.

        A new anchor file starts with every chain's head, so an upgrade pins the entries written before keys.
        """
        if self._anchors is None:
            return None
        with self._lock:
            if not self._anchors.exists():
                self._anchors.append((chain, seq, hash) for chain, seq, hash in self._heads() if chain != self._chain)
            head = self._head or self._read_head()
            if head == self._anchored:
                return None
            anchor, = self._anchors.append([(self._chain, *head)])
            self._anchored = head
            return anchor

    def close(self) -> None:
        """Anchor the head a last time, if this log anchored at all; a warehouse gone by now only costs that."""
        if self._anchored is None:
            return
        try:
            self.anchor()
        except ClickHouseError as exc:
            log.warning("audit head not anchored at close", extra={"chain": self._chain, "error": first_line(exc)})

    @property
    def chain(self) -> str:
        return self._chain

    def head(self) -> tuple[int, str]:
        """The chain's newest entry's number and signature, as stored."""
        return self._read_head()

    def after(self, seq: int, limit: int) -> list[AuditEntry]:
        """Up to `limit` entries of this chain after number `seq`, in order."""
        rows = self._client.query(
            f"SELECT {', '.join(_COLUMNS)} FROM audit_log WHERE chain = {{chain:String}} AND seq > {{seq:UInt64}} "
            "ORDER BY seq LIMIT {limit:UInt32}", parameters={"chain": self._chain, "seq": seq, "limit": limit}).result_rows
        return [_entry(row) for row in rows]

    def entries(self) -> Iterator[AuditEntry]:
        """Every entry, chain by chain in chain order, streamed."""
        query = f"SELECT {', '.join(_COLUMNS)} FROM audit_log ORDER BY chain, seq"
        with self._client.query_rows_stream(query) as rows:
            for row in rows:
                yield _entry(row)

    def verify(self) -> ChainReport:
        """Re-walk every chain from its first entry and check it against the anchors; report what is wrong."""
        anchors, bad = self._anchors.read() if self._anchors else ([], [])
        findings = [Finding("", 0, f"anchor file line {b.line}: {b.reason}") for b in bad]
        walks: dict[str, _Walk] = {}
        with closing(self.entries()) as entries:
            for entry in entries:
                walk = walks.get(entry.chain) or walks.setdefault(entry.chain, _Walk(self._key, entry.chain, anchors))
                walk.check(entry)
        for walk in walks.values():
            findings.extend(walk.findings(anchored=self._anchors is not None))
        for chain in sorted({a.chain for a in anchors} - walks.keys()):
            newest = max((a for a in anchors if a.chain == chain), key=lambda a: a.seq)
            if newest.seq:
                findings.append(Finding(chain, 0, f"the whole chain is gone: it was anchored up to entry {newest.seq} "
                                                  f"at {newest.time:%Y-%m-%d %H:%M:%S} UTC"))
        return ChainReport(checked=sum(w.checked for w in walks.values()), findings=findings,
                           anchors=len(anchors) if self._anchors else None)

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

    def _heads(self) -> list[tuple[str, int, str]]:
        return [tuple(row) for row in self._client.query(
            "SELECT chain, max(seq), argMax(hash, seq) FROM audit_log GROUP BY chain ORDER BY chain").result_rows]


class _Walk:
    """One chain re-walked in order: its links, its signatures, and the anchors taken of it."""

    def __init__(self, key: bytes, chain: str, anchors: list[Anchor]) -> None:
        self._key = key
        self._chain = chain
        self._anchors = [a for a in anchors if a.chain == chain]
        self._anchored = {a.seq for a in self._anchors}
        self._seen: dict[int, str] = {}
        self._expected, self._prev_hash = 1, GENESIS
        self._signed = False
        self._last_unsigned = 0
        self._broken: list[Finding] = []
        self.checked = 0
        self.last = 0

    def check(self, entry: AuditEntry) -> None:
        """Check one entry against the one before it; past a finding the walk goes on from this entry."""
        self.last = max(self.last, entry.seq)
        if entry.seq in self._anchored:
            self._seen.setdefault(entry.seq, entry.hash)
        broken = self._link(entry)
        if broken and len(self._broken) < _FINDINGS_PER_CHAIN:
            self._broken.append(broken)
        if entry.seq == self._expected - 1:
            return  # a repeat: the chain goes on from its first copy
        self._expected, self._prev_hash, self.checked = entry.seq + 1, entry.hash, self.checked + (not broken)

    def findings(self, *, anchored: bool) -> list[Finding]:
        found = list(self._broken)
        for anchor in self._anchors:
            seen = self._seen.get(anchor.seq)
            if anchor.seq and seen is not None and seen != anchor.hash:
                found.append(self._found(anchor.seq, f"differs from its anchor of {anchor.time:%Y-%m-%d %H:%M:%S} UTC "
                                                     "(the chain was rewritten from here)"))
        newest = max((a.seq for a in self._anchors), default=0)
        if newest > self.last:
            found.append(self._found(self.last + 1, f"entries {self.last + 1} to {newest} are gone: the chain was "
                                                    f"anchored up to {newest} but ends at {self.last}"))
        if self._last_unsigned > newest and not (self._signed or self._broken):
            found.append(self._found(self._last_unsigned, "is not signed with the audit key, and no anchor covers it "
                                                          "(anyone with warehouse access could have written it)"))
        if anchored and not self._anchors:
            found.append(self._found(0, "no anchor names this chain: no process sharing the anchor file wrote it"))
        return found

    def _link(self, entry: AuditEntry) -> Finding | None:
        if entry.seq == self._expected - 1:
            return self._found(entry.seq, "appears twice (two writers on one chain, or a row was copied)")
        if entry.seq != self._expected:
            return self._found(self._expected, f"entry {self._expected} is missing (next found is {entry.seq})")
        if entry.prev_hash != self._prev_hash:
            return self._found(entry.seq, "does not link to the entry before it (a row was removed or replaced)")
        fields = msgspec.structs.asdict(entry)
        del fields["hash"]
        if hmac.compare_digest(entry.hash, entry_hash(self._key, **fields)):
            self._signed = True
            return None
        if entry.hash == entry_hash(None, **fields):
            if self._signed:
                return self._found(entry.seq, "is not signed with the audit key, though entries before it are "
                                              "(written by someone without the key)")
            self._last_unsigned = entry.seq
            return None
        return self._found(entry.seq, "contents do not match its signature (the row was altered, or re-signed "
                                      "without the audit key, or the key is not the one it was written with)")

    def _found(self, seq: int, reason: str) -> Finding:
        return Finding(self._chain, seq, reason)


def entry_hash(key: bytes | None, *, seq: int, time: datetime, actor: str, action: str, resource: str, outcome: str,
               detail: str, prev_hash: str, chain: str = MAIN) -> str:
    """HMAC-SHA256 under `key` over the previous signature and the entry's canonical contents (and its chain's
    name, but for main); without a key, the plain SHA-256 that entries older than audit keys carry."""
    contents = [seq, time.astimezone(UTC).isoformat(), actor, action, resource, outcome, detail]
    message = f"{prev_hash}\n{_canonical(contents if chain == MAIN else [*contents, chain])}".encode()
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
