"""Audit chain heads written down outside the warehouse, so that rows removed or rewritten there show.

The anchor file is append-only JSON lines, each signed with the audit key. Someone who can change the
warehouse but not this file cannot cut a chain short or re-hash it from an anchored entry on unseen.
"""

import hashlib
import hmac
import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from warehouse.errors import WarehouseError


def append_synced(path: Path, lines: bytes) -> None:
    """Append whole lines in one write to a file opened for appending (so writers sharing it never interleave),
    synced to disk before it returns; the file is made readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, lines)
        os.fsync(fd)
    finally:
        os.close(fd)


class AnchorError(WarehouseError):
    """The anchor file cannot be written."""


class Anchor(msgspec.Struct, frozen=True, kw_only=True):
    time: datetime
    chain: str
    seq: int
    hash: str
    mac: str = ""


class BadAnchor(msgspec.Struct, frozen=True):
    line: int
    reason: str


class AnchorFile:
    """One file of anchors; every process that shares a data dir (or the configured path) appends to it."""

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        self._key = key

    def exists(self) -> bool:
        return self.path.exists()

    def append(self, heads: Iterable[tuple[str, int, str]]) -> list[Anchor]:
        """Write one anchor per (chain, seq, hash), synced to disk before it returns."""
        now = datetime.now(UTC)
        anchors = [self._signed(Anchor(time=now, chain=chain, seq=seq, hash=hash)) for chain, seq, hash in heads]
        if not anchors:
            return []
        try:
            append_synced(self.path, b"".join(msgspec.json.encode(anchor) + b"\n" for anchor in anchors))
        except OSError as exc:
            raise AnchorError(f"cannot append to the audit anchor file {self.path}: {exc.strerror}") from None
        return anchors

    def read(self) -> tuple[list[Anchor], list[BadAnchor]]:
        """The file's anchors whose signature holds, and the lines that are not anchors signed with this key."""
        try:
            text = self.path.read_bytes().splitlines()
        except FileNotFoundError:
            return [], []
        anchors, bad = [], []
        for number, line in enumerate(text, start=1):
            try:
                anchor = msgspec.json.decode(line, type=Anchor)
            except msgspec.DecodeError:
                bad.append(BadAnchor(number, "is not an anchor (the file was edited)"))
                continue
            if not hmac.compare_digest(anchor.mac, self._signed(anchor).mac):
                bad.append(BadAnchor(number, f"anchor of chain {anchor.chain!r} is not signed with the audit key "
                                             "(edited, or written with another key)"))
                continue
            anchors.append(anchor)
        return anchors, bad

    def _signed(self, anchor: Anchor) -> Anchor:
        body = json.dumps([anchor.time.astimezone(UTC).isoformat(), anchor.chain, anchor.seq, anchor.hash],
                          separators=(",", ":"))
        return msgspec.structs.replace(anchor, mac=hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest())
