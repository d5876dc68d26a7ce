"""What a run shows its caller: each cell of its windows with its state, and the requests."""

from datetime import datetime

import msgspec

from forwarder.runner import Forwarder, Planned, Run
from warehouse.outbox import Outbox


class CellReport(msgspec.Struct, frozen=True, kw_only=True):
    window: datetime
    destination: str
    """Empty in a dry run: a cell is decided once for every destination."""
    signal: str
    dimensions: dict[str, str]
    visitors: int
    conversions: int
    value: float
    state: str
    """`released` or `suppressed` in a dry run; the outbox state after a real one."""
    reason: str


class RunReport(msgspec.Struct, frozen=True, kw_only=True):
    cells: list[CellReport]
    outcomes: dict[str, int]
    """Cells by the state this run left them in."""
    requests: list[Planned]


def run_report(forwarder: Forwarder, run: Run, dry_run: bool) -> RunReport:
    """The cells a run decided (dry run) or left in the outbox, with its outcomes and requests."""
    return RunReport(cells=_dry_cells(run) if dry_run else _outbox_cells(forwarder, run), outcomes=run.outcomes,
                     requests=run.requests)


def _dry_cells(run: Run) -> list[CellReport]:
    return [CellReport(window=start, destination="", signal=d.cell.signal, dimensions=d.cell.dimensions,
                       visitors=d.visitors, conversions=d.conversions, value=d.value,
                       state="released" if d.released else "suppressed", reason=d.reason)
            for start, decisions in run.decisions.items() for d in decisions]


def _outbox_cells(forwarder: Forwarder, run: Run) -> list[CellReport]:
    records = Outbox(forwarder.warehouse.client).current(windows=run.windows) if run.windows else []
    return [CellReport(window=r.window_start, destination=r.destination, signal=r.signal, dimensions=r.cell,
                       visitors=r.visitors, conversions=r.conversions, value=r.value, state=r.state, reason=r.reason)
            for r in records]
