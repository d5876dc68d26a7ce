"""The forwarder's outbox: one record per (destination, signal, window, cell), append-only.

A record's state changes by appending a newer row; the latest row of a key is its state.
"""

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from enum import StrEnum

import msgspec
from clickhouse_connect.driver.client import Client

from warehouse.events import encode_rows, insert_lines


class State(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    """A request with this cell went out and no answer was recorded: a crash, if it stays so."""
    SENT = "sent"
    FAILED = "failed"
    """Refused for a reason the platform says may pass; tried again after `next_attempt_at`."""
    BLOCKED = "blocked"
    SUPPRESSED = "suppressed"
    DEAD = "dead"
    COVERED = "covered"
    """The window's time was prepared before, within a window of another length: it is not aggregated again."""
    MEASURED = "measured"
    """A signal's window was measured, spending its epsilon (one record per signal and window, no destination)."""


FINAL = frozenset({State.SENT, State.BLOCKED, State.SUPPRESSED, State.DEAD, State.COVERED})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class OutboxRecord(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    """Deterministic, and the platform's event id: a re-sent cell is recognised as the same."""
    destination: str
    signal: str
    window_start: datetime
    window_end: datetime
    cell: dict[str, str]
    visitors: int
    conversions: int
    value: float
    state: State
    reason: str = ""
    attempts: int = 0
    next_attempt_at: datetime = _EPOCH
    policy: str = ""
    epsilon: float = 0.0
    """The privacy budget the cell's signal spent in its window (0: no noise)."""
    recorded_at: datetime = _EPOCH


def cell_key(destination: str, signal: str, window_start: datetime, cell: dict[str, str]) -> str:
    text = msgspec.json.encode([destination, signal, window_start.isoformat(), sorted(cell.items())])
    return hashlib.sha256(text).hexdigest()[:32]


class OutboxCount(msgspec.Struct, frozen=True):
    destination: str
    window_start: datetime
    state: str
    cells: int


class ForwardStatus(msgspec.Struct, frozen=True, kw_only=True):
    counts: list[OutboxCount]
    epsilon_this_month: dict[str, float]
    """Per signal: the privacy budget its windows of this calendar month spent."""
    monthly_epsilon: float = 0.0
    """The most a signal's windows of one month may spend (0: no forwarder policy here)."""
    exact: bool = False
    """Exact mode: counts leave as they are and no budget bounds what they reveal."""


class Outbox:
    def __init__(self, client: Client) -> None:
        self._client = client

    def append(self, records: Sequence[OutboxRecord], token: str | None = None) -> None:
        """Add records (new cells or new states), stamped now; one insert, so all or none."""
        now = datetime.now(UTC)
        stamped = [msgspec.structs.replace(r, recorded_at=now) for r in records]
        insert_lines(self._client, "outbox", encode_rows(stamped), token=token or f"outbox:{now.isoformat()}")

    def current(self, destination: str | None = None, windows: Iterable[datetime] | None = None,
                since: datetime | None = None) -> list[OutboxRecord]:
        """The latest state of each record, oldest window first."""
        where, parameters = ["state != 'measured'"], {}
        if destination is not None:
            where.append("destination = {destination:String}")
            parameters["destination"] = destination
        if windows is not None:
            where.append("window_start IN {windows:Array(DateTime)}")
            parameters["windows"] = list(windows)
        if since is not None:
            where.append("window_start >= {since:DateTime}")
            parameters["since"] = since
        result = self._client.query(
            f"SELECT * FROM outbox WHERE {' AND '.join(where)} ORDER BY recorded_at DESC LIMIT 1 BY key",
            parameters=parameters)
        records = [OutboxRecord(**dict(zip(result.column_names, row, strict=True))) for row in result.result_rows]
        return sorted(records, key=lambda r: (r.window_start, r.destination, r.signal, sorted(r.cell.items())))

    def status(self, monthly_epsilon: float = 0.0, exact: bool = False) -> ForwardStatus:
        """Cells per destination, window and current state; and the month's spent privacy budget."""
        counts = self._client.query("""
            SELECT destination, window_start, state, count() FROM (
                SELECT key, argMax(destination, recorded_at) AS destination,
                       argMax(window_start, recorded_at) AS window_start, argMax(state, recorded_at) AS state
                FROM outbox GROUP BY key)
            WHERE state != 'measured'
            GROUP BY destination, window_start, state ORDER BY window_start DESC, destination, state LIMIT 1000""")
        return ForwardStatus(counts=[OutboxCount(*row) for row in counts.result_rows],
                             epsilon_this_month=self.spent(datetime.now(UTC)), monthly_epsilon=monthly_epsilon,
                             exact=exact)

    def spent(self, month: datetime) -> dict[str, float]:
        """Per signal, the epsilon its windows of `month`'s calendar month spent: measuring a window spends it,
        whether or not a cell is released."""
        rows = self._client.query("""
            SELECT signal, sum(epsilon) FROM (SELECT DISTINCT key, signal, epsilon FROM outbox
                WHERE state = 'measured' AND toStartOfMonth(window_start) = toStartOfMonth({month:DateTime}))
            GROUP BY signal""", parameters={"month": month}).result_rows
        return {signal: round(total, 6) for signal, total in rows}

    def overlapping(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The windows whose cells were prepared over any of the time from `start` to `end`."""
        rows = self._client.query(
            "SELECT DISTINCT window_start, window_end FROM outbox WHERE window_start < {end:DateTime} "
            "AND window_end > {start:DateTime} AND state != 'covered' ORDER BY window_start",
            parameters={"start": start, "end": end}).result_rows
        return [(first, last) for first, last in rows]

    def prepared_at(self, window: datetime) -> datetime | None:
        """When the window's cells were first recorded, if they were."""
        rows = self._client.query("SELECT min(recorded_at), count() FROM outbox WHERE window_start = {w:DateTime} "
                                  "AND state != 'covered'", parameters={"w": window}).result_rows
        at, records = rows[0]
        return at if records else None

    def prepared(self, windows: Iterable[datetime]) -> set[datetime]:
        """Which of these windows already have their cells recorded."""
        rows = self._client.query("SELECT DISTINCT window_start FROM outbox WHERE window_start IN {w:Array(DateTime)}",
                                  parameters={"w": list(windows)}).result_rows
        return {row[0] for row in rows}

