"""A signal's privacy budget per window: how epsilon is split, and the noisy count a released cell needs."""

import math

import msgspec


class Privacy(msgspec.Struct, frozen=True, kw_only=True):
    """What a signal's window may spend and what a released cell needs."""

    k: int
    epsilon: float
    """0: exact mode, no noise."""
    delta: float
    max_per_visitor: int
    value_cap: float = 0.0
    """0: the signal sends no value."""

    @property
    def shares(self) -> int:
        """How many numbers split epsilon: visitors and conversions, and value if the signal sums one."""
        return 3 if self.value_cap > 0 else 2

    @property
    def visitor_scale(self) -> float:
        return self.shares / self.epsilon

    @property
    def threshold(self) -> int:
        """The fewest noisy visitors a released cell has: k - 1 plus the partition-selection threshold."""
        return self.k - 1 + selection_threshold(self.visitor_scale, self.delta)


def selection_threshold(scale: float, delta: float) -> int:
    """The smallest tau such that a cell of one visitor, with discrete Laplace noise of `scale` on its count,
    reaches tau with probability at most `delta`: P[Z >= tau - 1] = r^(tau - 1) / (1 + r), r = e^(-1/scale).

    Computed here, not with OpenDP's threshold measurements: their privacy map takes the tail above the threshold
    while keeping counts equal to it, so it reports a delta below the true one (OpenDP issue 2922)."""
    r = math.exp(-1 / scale)
    return 1 + math.ceil(scale * math.log(1 / (delta * (1 + r))))
