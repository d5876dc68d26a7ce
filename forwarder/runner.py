"""Running the forwarder: close windows into outbox records, then deliver them, guarded and recorded.

A window is prepared once for every destination (one aggregation query, one noise draw per
cell), so destinations agree and a re-run finds the same cells. A dry run draws noise of its own each time
and records nothing: its numbers stay with the operator who asked. Delivery sends each destination's
pending records in batches; each request is checked by the guard and written to the audit log,
byte for byte, before it leaves, and its answer after.
"""

import hashlib
import logging
import os
import random
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import msgspec

from forwarder.adapters.base import Adapter, Item, Outcome, generated_strings
from forwarder.adapters.csvfile import CsvAdapter
from forwarder.adapters.ga4 import Ga4Adapter
from forwarder.adapters.meta import MetaAdapter
from forwarder.adapters.tiktok import TikTokAdapter
from forwarder.adapters.webhook import WebhookAdapter
from forwarder.errors import Blocked, ForwarderBusy, InvalidWindow, MissingCredential, UnknownDestination
from forwarder.guard import RecordedRequest, Request, check
from forwarder.release import Decision, Noise, laplace, release
from forwarder.settings import (
    CsvDestination, Destination, ForwarderSettings, Ga4Destination, MetaDestination, TikTokDestination,
    WebhookDestination,
)
from warehouse import Warehouse
from warehouse.conversions import SignalSpec, window_cells, window_identifiers, withdrawn_since
from warehouse.leases import Leases
from warehouse.outbox import FINAL, Outbox, OutboxRecord, State, cell_key

log = logging.getLogger("sluice.forwarder")
ACTOR = "forwarder"
LEASE = "forwarder"
# Renewed before each window and each destination, which take seconds: a crashed holder frees it soon.
_LEASE_SECONDS = 300.0
_MAX_BACKOFF = 3600.0


class Planned(msgspec.Struct, frozen=True, kw_only=True):
    """A request the forwarder would send (dry run) or sent, with the guard's verdict."""

    destination: str
    keys: list[str]
    request: RecordedRequest
    blocked: str = ""


class Run(msgspec.Struct, kw_only=True):
    """What one run did: the cells of its windows and the requests."""

    windows: list[datetime] = []
    decisions: dict[datetime, list[Decision]] = {}
    """Dry runs only: a real run's cells are in the outbox."""
    requests: list[Planned] = []
    outcomes: dict[str, int] = {}


def policy_version(settings: ForwarderSettings, opt_out_sites: Iterable[str]) -> str:
    """The policy's version, with the sites whose visitors consent until they refuse: those decide who counts."""
    if not opt_out_sites:
        return settings.version()
    sites = ",".join(sorted(opt_out_sites))
    return hashlib.sha256(f"{settings.version()}:{sites}".encode()).hexdigest()[:16]


class Forwarder:
    def __init__(self, warehouse: Warehouse, settings: ForwarderSettings, exports: Path, *,
                 http: httpx.Client | None = None, env: Mapping[str, str] = os.environ,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), noise: Noise = laplace,
                 instance: str = "sluice", opt_out_sites: frozenset[str] = frozenset()) -> None:
        self._warehouse = warehouse
        self._settings = settings
        self._exports = exports
        self._http = http or httpx.Client()
        self._env = env
        self._clock = clock
        self._noise = noise
        self._opt_out_sites = opt_out_sites
        self._outbox = Outbox(warehouse.client)
        # One run at a time in this process (the schedule and a command), and across instances by the lease.
        self._running = threading.Lock()
        self._leases = Leases(warehouse.client)
        self._owner = f"{instance}:{uuid.uuid4().hex[:8]}"  # this process: two with one instance name stay apart

    @property
    def settings(self) -> ForwarderSettings:
        return self._settings

    @property
    def warehouse(self) -> Warehouse:
        return self._warehouse

    def window_length(self) -> timedelta:
        return timedelta(days=1) if self._settings.window == "day" else timedelta(hours=1)

    def windows_due(self) -> list[datetime]:
        """Starts of the closed windows (end plus lateness passed) within the backfill period."""
        length, now = self.window_length(), self._clock()
        closed_before = now - timedelta(minutes=self._settings.lateness_minutes)
        start = _floor(closed_before, length) - length
        earliest = now - timedelta(days=self._settings.backfill_days)
        starts = []
        while start >= _floor(earliest, length):
            starts.append(start)
            start -= length
        return sorted(starts)

    def version(self) -> str:
        return policy_version(self._settings, self._opt_out_sites)

    def record_policy(self) -> None:
        """Audit the policy when its version is new: every change is on record."""
        version = self.version()
        latest, _ = self._warehouse.audit.search(action="forward.policy", limit=1)
        if not latest or version not in latest[0].resource:
            self._warehouse.audit.record(ACTOR, "forward.policy", f"policy {version}", detail={
                "policy": msgspec.to_builtins(self._settings), "opt_out_sites": sorted(self._opt_out_sites)})

    def decide(self, start: datetime, signals: set[str] | None = None) -> list[Decision]:
        """The window's cells (of `signals`, default all) and whether each may be released (noisy with epsilon,
        true counts in exact mode)."""
        s = self._settings
        specs = [SignalSpec(name=x.name, event=x.event, dimensions=s.dimensions(x.name),
                            value_property=x.value_property, value_cap=x.value_cap)
                 for x in s.signals if signals is None or x.name in signals]
        cells = window_cells(self._warehouse.client, start, start + self.window_length(), specs, s.values,
                             s.patterns, s.lookback_days, s.max_conversions_per_visitor, self._opt_out_sites)
        return release(cells, s.privacy, noise=self._noise)

    def prepare(self, start: datetime) -> None:
        """Record the window's cells for every destination, once; never a second grouping of the same time."""
        version, end = self.version(), start + self.window_length()
        if earlier := self._earlier(start, end):
            if not any(r.state == State.COVERED for r in self._outbox.current(windows=[start])):
                self._cover(start, end, earlier, version)
            return
        if start in self._outbox.prepared([start]):
            return
        measured = self._affordable(start)
        epsilon = self._settings.epsilon
        records = [
            OutboxRecord(key=cell_key(d.id, decision.cell.signal, start, decision.cell.dimensions),
                         destination=d.id, signal=decision.cell.signal, window_start=start, window_end=end,
                         cell=decision.cell.dimensions, visitors=decision.visitors,
                         conversions=decision.conversions, value=decision.value,
                         state=State.PENDING if decision.released else State.SUPPRESSED,
                         reason=decision.reason, policy=version, epsilon=epsilon)
            for decision in self.decide(start, measured)
            for d in self._settings.destinations if self._settings.sends(d, decision.cell.signal)
        ]
        # What each signal spent, cells or none: the month's budget counts every measurement. A signal over its
        # budget spends nothing and is not measured again: the window is prepared once either way.
        names = sorted(x.name for x in self._settings.signals)
        over = [name for name in names if name not in measured]
        records += [OutboxRecord(key=cell_key("", name, start, {}), destination="", signal=name,
                                 window_start=start, window_end=end, cell={}, visitors=0, conversions=0, value=0.0,
                                 state=State.MEASURED, policy=version, epsilon=0.0 if name in over else epsilon,
                                 reason="over the monthly privacy budget" if name in over else "")
                    for name in names]
        if records:
            self._outbox.append(records, token=f"prepare:{start.isoformat()}:{version}")
        self._warehouse.audit.record(ACTOR, "forward.prepare", f"window {start.isoformat()}", detail={
            "policy": version, "released": sum(r.state == State.PENDING for r in records),
            "suppressed": sum(r.state == State.SUPPRESSED for r in records), "epsilon": epsilon,
            "over_monthly_budget": over})

    def _affordable(self, start: datetime) -> set[str]:
        """The signals whose month of `start` leaves room for one more window's epsilon."""
        spent, cap = self._outbox.spent(start), self._settings.monthly_epsilon
        affordable = set()
        for name in sorted(x.name for x in self._settings.signals):
            if spent.get(name, 0.0) + self._settings.epsilon <= cap:
                affordable.add(name)
            else:
                log.warning("signal %s has spent epsilon %g of its monthly %g: window %s is not measured", name,
                            spent.get(name, 0.0), cap, start.isoformat())
        return affordable

    def _earlier(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Windows of another length whose cells were prepared over some of this window's time."""
        return [window for window in self._outbox.overlapping(start, end) if window != (start, end)]

    def _cover(self, start: datetime, end: datetime, earlier: list[tuple[datetime, datetime]], version: str) -> None:
        """Leave a window whose time went out before (as a day, when windows are now hours, or back) as it was
        sent: two groupings of the same events would reveal what each one suppressed."""
        first, last = earlier[0][0], earlier[-1][1]
        reason = f"prepared before as windows from {first.isoformat()} to {last.isoformat()}; not aggregated again"
        records = [OutboxRecord(key=cell_key(d.id, "", start, {}), destination=d.id, signal="", window_start=start,
                                window_end=end, cell={}, visitors=0, conversions=0, value=0.0,
                                state=State.COVERED, reason=reason, policy=version)
                   for d in self._settings.destinations]
        if records:
            self._outbox.append(records, token=f"cover:{start.isoformat()}:{version}")
        self._warehouse.audit.record(ACTOR, "forward.prepare", f"window {start.isoformat()}",
                                     detail={"policy": version, "covered": reason})

    def run(self, destination: str | None = None, window: datetime | None = None, dry_run: bool = False) -> Run:
        """Prepare due windows (or `window`) and deliver; a dry run only shows what would go."""
        starts = [window] if window else self.windows_due()
        targets = [d for d in self._settings.destinations if destination in (None, d.id)]
        if destination and not targets:
            known = ", ".join(d.id for d in self._settings.destinations) or "none"
            raise UnknownDestination(f"no destination {destination!r}; there are {known}")
        if window is not None and window != _floor(window, self.window_length()):
            raise InvalidWindow(f"a {self._settings.window} window starts at {_floor(window, self.window_length())}, "
                                f"not {window}")
        run = Run(windows=starts)
        identifiers: dict[datetime, set[str]] = {}  # a window's raw ids, loaded once for all destinations
        if dry_run:
            for start in starts:
                covered = self._earlier(start, start + self.window_length())
                run.decisions[start] = decisions = [] if covered else self.decide(start)
                for target in targets:
                    run.requests += self._dry(target, start, decisions, identifiers)
            return run
        with self._running, self._lease():
            self.record_policy()
            for start in starts:
                self._keep_lease()
                self.prepare(start)
            for target in targets:
                self._keep_lease()
                self._deliver(target, starts, run, identifiers)
        return run

    @contextmanager
    def _lease(self) -> Iterator[None]:
        """Hold the outbox for this run, so no two instances prepare or send the same cells."""
        if not self._leases.acquire(LEASE, self._owner, _LEASE_SECONDS):
            raise ForwarderBusy(f"another instance holds the forwarder's lease ({self._leases.holder(LEASE)}); "
                                "it is forwarding now, try again later")
        try:
            yield
        finally:
            self._leases.release(LEASE, self._owner)

    def _keep_lease(self) -> None:
        if not self._leases.renew(LEASE, self._owner, _LEASE_SECONDS):
            raise ForwarderBusy("this run lost the forwarder's lease to another instance; it stopped before sending more")

    def run_destination(self, destination: str) -> None:
        """The scheduled job of one destination: skipped while another instance forwards."""
        try:
            self.run(destination)
        except ForwarderBusy as exc:
            log.info("forwarding skipped", extra={"destination": destination, "reason": str(exc)})

    def _deliver(self, destination: Destination, starts: list[datetime], run: Run,
                 identifiers: dict[datetime, set[str]]) -> None:
        adapter = self._adapter(destination)
        now = self._clock()
        due = []
        for record in self._outbox.current(destination.id, windows=starts):
            if record.state in FINAL:
                continue
            if now - record.window_end > adapter.max_age:
                self._mark([record], State.DEAD, f"older than {destination.kind} accepts", run)
            elif record.state == State.SENDING and not adapter.deduplicates:
                self._mark([record], State.DEAD, f"answer lost in an interruption; {destination.kind} does not "
                                                 "drop repeated events, so it is not sent again", run)
            elif record.state != State.FAILED or record.next_attempt_at <= now:
                due.append(record)
        for start in sorted({record.window_start for record in due}):
            if self._withdrawn_since_prepared(start):
                self._mark([r for r in due if r.window_start == start], State.SUPPRESSED,
                           "a visitor it counted refused ads consent after it was prepared", run)
                due = [r for r in due if r.window_start != start]
        by_batch: dict[tuple[str, datetime], list[OutboxRecord]] = {}
        for record in due:
            by_batch.setdefault((record.signal, record.window_start), []).append(record)
        for (_, start), batch in by_batch.items():
            for i in range(0, len(batch), adapter.batch_size):
                self._send(destination, adapter, batch[i:i + adapter.batch_size], self._identifiers(start, identifiers),
                           run)

    def _send(self, destination: Destination, adapter: Adapter, records: list[OutboxRecord], identifiers: set[str],
              run: Run) -> None:
        items = [_item(r) for r in records]
        request = adapter.build(items)
        keys = [r.key for r in records]
        try:
            _guard(adapter, request, items, identifiers)
        except Blocked as exc:
            self._warehouse.audit.record(ACTOR, "forward.blocked", destination.id, outcome="denied",
                                         detail={"keys": keys, "reason": str(exc)})
            self._mark(records, State.BLOCKED, str(exc), run)
            run.requests.append(Planned(destination=destination.id, keys=keys, request=request.recorded(),
                                        blocked=str(exc)))
            return
        self._warehouse.audit.record(ACTOR, "forward.request", destination.id,
                                     detail={"keys": keys, "request": msgspec.to_builtins(request.recorded())})
        self._mark(records, State.SENDING, "", run, count=False)
        outcome = adapter.deliver(request, self._http)
        self._warehouse.audit.record(ACTOR, "forward.response", destination.id,
                                     outcome="success" if outcome.ok else "failure",
                                     detail={"keys": keys, "status": outcome.status, "body": outcome.body,
                                             "reason": outcome.reason})
        run.requests.append(Planned(destination=destination.id, keys=keys, request=request.recorded()))
        self._settle(records, outcome, run)

    def _settle(self, records: list[OutboxRecord], outcome: Outcome, run: Run) -> None:
        if outcome.ok:
            self._mark(records, State.SENT, "", run)
            return
        attempts = records[0].attempts + 1
        if not outcome.retryable or attempts >= self._settings.max_attempts:
            self._mark(records, State.DEAD, outcome.reason, run, attempts=attempts)
            return
        backoff = min(_MAX_BACKOFF, 30 * 2 ** attempts) * random.uniform(0.5, 1.5)
        pause = min(_MAX_BACKOFF, outcome.retry_after) if outcome.retry_after is not None else backoff
        self._mark(records, State.FAILED, outcome.reason, run, attempts=attempts,
                   next_attempt_at=self._clock() + timedelta(seconds=pause))

    def _mark(self, records: list[OutboxRecord], state: State, reason: str, run: Run, count: bool = True,
              **changes) -> None:
        self._outbox.append([msgspec.structs.replace(r, state=state, reason=reason, **changes) for r in records])
        if count:
            run.outcomes[state] = run.outcomes.get(state, 0) + len(records)

    def _withdrawn_since_prepared(self, start: datetime) -> bool:
        """Whether a visitor counted in the window refused ads after its cells were computed: they must not leave."""
        prepared_at = self._outbox.prepared_at(start)
        return prepared_at is not None and withdrawn_since(
            self._warehouse.client, start, start + self.window_length(), [s.event for s in self._settings.signals],
            prepared_at)

    def _identifiers(self, start: datetime, known: dict[datetime, set[str]]) -> set[str]:
        """The window's raw ids, from `known` when this run has loaded them already."""
        if start not in known:
            known[start] = window_identifiers(self._warehouse.client, start, start + self.window_length(),
                                              [s.event for s in self._settings.signals], self._settings.lookback_days)
        return known[start]

    def _dry(self, destination: Destination, start: datetime, decisions: list[Decision],
             known: dict[datetime, set[str]]) -> list[Planned]:
        adapter = self._adapter(destination, dry_run=True)
        released = [d for d in decisions if d.released and self._settings.sends(destination, d.cell.signal)]
        items = [Item(key=cell_key(destination.id, d.cell.signal, start, d.cell.dimensions), signal=d.cell.signal,
                      window_start=start, window_end=start + self.window_length(), dimensions=d.cell.dimensions,
                      visitors=d.visitors, conversions=d.conversions, value=d.value) for d in released]
        identifiers = self._identifiers(start, known) if items else set()
        planned = []
        for signal in sorted({i.signal for i in items}):
            of_signal = [i for i in items if i.signal == signal]
            for batch in (of_signal[i:i + adapter.batch_size] for i in range(0, len(of_signal), adapter.batch_size)):
                request = adapter.build(batch)
                try:
                    _guard(adapter, request, batch, identifiers)
                    blocked = ""
                except Blocked as exc:
                    blocked = str(exc)
                planned.append(Planned(destination=destination.id, keys=[x.key for x in batch],
                                       request=request.recorded(), blocked=blocked))
        return planned

    def _adapter(self, destination: Destination, dry_run: bool = False) -> Adapter:
        def secret(name: str) -> str:
            value = self._env.get(name, "")
            if not value and not dry_run:
                raise MissingCredential(f"destination {destination.id!r}: set the environment variable {name}")
            return value or "dry-run-credential"

        match destination:
            case MetaDestination():
                return MetaAdapter(destination, secret(destination.access_token_env))
            case Ga4Destination():
                return Ga4Adapter(destination, secret(destination.api_secret_env))
            case TikTokDestination():
                return TikTokAdapter(destination, secret(destination.access_token_env))
            case WebhookDestination():
                return WebhookAdapter(destination, secret(destination.secret_env))
            case CsvDestination():
                return CsvAdapter(destination, Path(destination.directory) if destination.directory else self._exports)
        raise TypeError(f"no adapter for {type(destination).__name__}")


def _guard(adapter: Adapter, request: Request, items: list[Item], identifiers: set[str]) -> None:
    allowed = set().union(*(generated_strings(item) for item in items))
    check(request, adapter.shape(items), allowed=allowed, identifiers=identifiers)


def _item(record: OutboxRecord) -> Item:
    return Item(key=record.key, signal=record.signal, window_start=record.window_start,
                window_end=record.window_end, dimensions=dict(record.cell), visitors=record.visitors,
                conversions=record.conversions, value=record.value)


def _floor(moment: datetime, length: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((moment - epoch) // length) * length

