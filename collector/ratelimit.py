"""A per-client request limit: a fixed window counter per address.

Written here rather than taken from a library because it sits on the ingestion hot path: the
general-purpose limiters keep timers and locks per key and cost more than the rest of a request.
"""

import math
import time
from ipaddress import ip_address

import msgspec

_UNITS = {"second": 1, "minute": 60, "hour": 3600}


class Rate(msgspec.Struct, frozen=True):
    requests: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> "Rate":
        """`100/second`, `3000 per minute`."""
        amount, _, unit = text.replace(" per ", "/").replace(" ", "").partition("/")
        return cls(int(amount), _UNITS[unit])


class RateLimiter:
    def __init__(self, rate: Rate, max_clients: int = 100_000) -> None:
        self._rate = rate
        self._max_clients = max_clients
        self._window = 0
        self._counts: dict[str, int] = {}

    def retry_after(self, client: str, now: float | None = None) -> int | None:
        """Count one request from `client`; None if allowed, else the seconds until its window ends."""
        now = time.monotonic() if now is None else now
        client = _network(client)
        window = int(now // self._rate.seconds)
        if window != self._window or len(self._counts) > self._max_clients:
            self._window, self._counts = window, {}
        count = self._counts.get(client, 0) + 1
        self._counts[client] = count
        if count <= self._rate.requests:
            return None
        return max(1, math.ceil((window + 1) * self._rate.seconds - now))


def _network(address: str) -> str:
    """IPv6 clients are counted per /64: one subscriber can hold billions of addresses."""
    if ":" not in address:
        return address
    return ":".join(ip_address(address).exploded.split(":")[:4])
