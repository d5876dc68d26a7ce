"""Which cells may leave: at least k distinct visitors, counted after noise when privacy noise is on.

With `epsilon` > 0 each signal's window spends epsilon, split evenly over visitors (a visitor
moves it by 1), conversions (by at most the per-visitor cap) and value (by at most the value
cap): discrete Laplace noise from OpenDP for counts, Laplace for the value. The threshold is
applied to the noisy visitor count; a cell must also have k true visitors, so noise never
releases a smaller cell (the suppression itself then depends on the true count).
"""

from collections.abc import Callable

import msgspec
import opendp.prelude as dp

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


def release(cells: list[Cell], *, k: int, epsilon: float, max_per_visitor: int, value_caps: dict[str, float],
            noise: Noise = laplace) -> list[Decision]:
    """Decide every cell; released numbers are noisy when `epsilon` is set, never below zero."""
    decisions = []
    for cell in cells:
        visitors, conversions, value = cell.visitors, cell.conversions, cell.value
        if epsilon > 0:
            share = epsilon / 3
            visitors = max(0, round(noise(visitors, 1 / share)))
            conversions = max(0, round(noise(conversions, max_per_visitor / share)))
            cap = value_caps.get(cell.signal, 0.0)
            value = max(0.0, round(noise(float(value), cap / share), 2)) if cap > 0 else 0.0
        if visitors >= k and cell.visitors >= k:
            decisions.append(Decision(cell=cell, released=True, reason="", visitors=visitors,
                                      conversions=conversions, value=value))
        else:
            counted = f"{visitors} noisy visitors" if epsilon > 0 and cell.visitors >= k else \
                f"{cell.visitors} distinct visitors"
            decisions.append(Decision(cell=cell, released=False, reason=f"{counted}, fewer than k={k}",
                                      visitors=visitors, conversions=conversions, value=value))
    return decisions
