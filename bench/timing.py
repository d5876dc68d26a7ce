"""Timing a call the way every benchmark here does: one warm-up, then samples in milliseconds."""

import time
from collections.abc import Callable


def samples(call: Callable[[], object], repeat: int) -> list[float]:
    call()
    taken = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        taken.append((time.perf_counter() - began) * 1000)
    return taken
