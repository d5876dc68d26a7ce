"""Which cells may leave, and with which numbers: differentially private by default, exact only when allowed.

Each visitor counts in at most one cell per signal and window (`warehouse.conversions`), so one visitor moves
a cell's visitors by 1, its conversions by the per-visitor cap and its value by the value cap. With `epsilon`
> 0 a signal's window spends epsilon, split evenly over the numbers it releases, each drawn once with OpenDP's
noise (discrete Laplace for counts). The decision to release is itself private: a cell first needs k true
visitors (a pre-threshold), then its noisy visitor count must reach k - 1 + tau, where tau is the Laplace
partition-selection threshold for delta. The k - 1 shift has sensitivity 1, so the whole release stays
(epsilon, delta)-DP, and nothing under k noisy (or true) visitors ever leaves. With epsilon = 0 (exact mode,
which the settings allow only on request) a cell leaves with k true visitors and its true numbers.
"""

from collections.abc import Callable

import msgspec
import opendp.prelude as dp

from forwarder.budget import Privacy
from warehouse.conversions import Cell

dp.enable_features("contrib")

Noise = Callable[[float, float], float]
"""(true value, scale) -> noisy value."""


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    cell: Cell
    released: bool
    reason: str
    visitors: int
    conversions: int
    value: float


def laplace(value: float, scale: float) -> float:
    """OpenDP's discrete Laplace for counts (ints), its continuous Laplace for amounts (floats)."""
    if isinstance(value, int):
        return dp.m.make_laplace(dp.atom_domain(T=int), dp.absolute_distance(T=int), scale=scale)(value)
    return dp.m.make_laplace(dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), scale=scale)(
        float(value))


def release(cells: list[Cell], privacy: Callable[[str], Privacy], noise: Noise = laplace) -> list[Decision]:
    """Decide every cell, given each signal's privacy; released numbers are never below zero."""
    decisions = []
    for cell in cells:
        spec = privacy(cell.signal)
        decisions.append(_exact(cell, spec) if spec.epsilon == 0 else _private(cell, spec, noise))
    return decisions


def _exact(cell: Cell, privacy: Privacy) -> Decision:
    released = cell.visitors >= privacy.k
    reason = "" if released else f"{cell.visitors} distinct visitors, fewer than k={privacy.k}"
    return Decision(cell=cell, released=released, reason=reason, visitors=cell.visitors,
                    conversions=cell.conversions, value=cell.value)


def _private(cell: Cell, privacy: Privacy, noise: Noise) -> Decision:
    scale = privacy.visitor_scale
    visitors = max(0, round(noise(cell.visitors, scale)))
    conversions = max(0, round(noise(cell.conversions, privacy.max_per_visitor * scale)))
    value = max(0.0, round(noise(float(cell.value), privacy.value_cap * scale), 2)) if privacy.value_cap > 0 else 0.0
    if cell.visitors < privacy.k:
        reason = f"fewer than k={privacy.k} distinct visitors"
    elif visitors < privacy.threshold:
        reason = f"{visitors} noisy visitors, under the release threshold of {privacy.threshold}"
    else:
        reason = ""
    return Decision(cell=cell, released=not reason, reason=reason, visitors=visitors, conversions=conversions,
                    value=value)
