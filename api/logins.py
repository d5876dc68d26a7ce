"""Login sessions of the internal API: opaque tokens kept only as hashes, and the limits on logging in."""

import hashlib
import math
import secrets
import threading
import time
from collections.abc import Callable
from ipaddress import ip_address, ip_network

import msgspec
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

IDLE_SECONDS = 30 * 60
ABSOLUTE_SECONDS = 12 * 3600
MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
MAX_LOCK_SECONDS = 24 * 3600


class LoginSession(msgspec.Struct, kw_only=True):
    username: str
    role: str
    opened: float
    seen: float


class LoginSessions:
    """Open login sessions, by the hash of their token: a leaked memory dump holds no usable token.

    Requests run in threads, so every change holds the lock; expired sessions are swept at each login.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._open: dict[str, LoginSession] = {}
        self._lock = threading.Lock()

    def open(self, username: str, role: str) -> str:
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._open = {key: s for key, s in self._open.items() if not _expired(s, now)}
            self._open[_digest(token)] = LoginSession(username=username, role=role, opened=now, seen=now)
        return token

    def find(self, token: str) -> LoginSession | None:
        """The live session for `token`, its idle timer restarted; None once idle or too old."""
        key, now = _digest(token), self._clock()
        with self._lock:
            session = self._open.get(key)
            if session is None:
                return None
            if _expired(session, now):
                del self._open[key]
                return None
            session.seen = now
            return session

    def close(self, token: str) -> LoginSession | None:
        with self._lock:
            return self._open.pop(_digest(token), None)

    def close_all(self, username: str) -> None:
        """End a user's sessions, as when they are disabled or change role."""
        with self._lock:
            self._open = {key: s for key, s in self._open.items() if s.username != username}


class Throttle:
    """Five failed logins for a name from one client address (IPv6: one /64) lock that name for that address: for
    15 minutes, twice as long at each lock after, up to a day; whether the name exists or not.

    Keyed by name and address, so that someone elsewhere who guesses at `admin` locks out only themselves. An
    attempt counts before its password is checked, so parallel guesses cannot slip past the limit.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._failures: dict[tuple[str, str], int] = {}
        self._locks: dict[tuple[str, str], int] = {}
        self._locked_until: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def attempt(self, username: str, client: str) -> int:
        """Count an attempt at `username` from `client`; 0 if it may go ahead, else the seconds it must wait."""
        key, now = (username, _network(client)), self._clock()
        with self._lock:
            until = self._locked_until.get(key, 0.0)
            if until > now:
                return max(1, int(until - now) + 1)
            if len(self._failures) + len(self._locks) > self._max_keys:  # a flood: forget counts, keep the locks
                self._failures.clear()
                self._locked_until = {k: t for k, t in self._locked_until.items() if t > now}
                self._locks = {k: n for k, n in self._locks.items() if k in self._locked_until}
            self._failures[key] = self._failures.get(key, 0) + 1
            if self._failures[key] > MAX_FAILURES:
                self._locks[key] = self._locks.get(key, 0) + 1
                seconds = min(LOCK_SECONDS * 2 ** (self._locks[key] - 1), MAX_LOCK_SECONDS)
                self._locked_until[key] = now + seconds
                self._failures.pop(key)
                return seconds
            return 0

    def succeeded(self, username: str, client: str) -> None:
        key = (username, _network(client))
        with self._lock:
            self._failures.pop(key, None)
            self._locks.pop(key, None)

    def locked(self, username: str, client: str) -> bool:
        with self._lock:
            return self._locked_until.get((username, _network(client)), 0.0) > self._clock()


def _expired(session: LoginSession, now: float) -> bool:
    return now - session.seen > IDLE_SECONDS or now - session.opened > ABSOLUTE_SECONDS


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AddressLimit:
    """Logins per client address in a fixed window, whatever names they try."""

    def __init__(self, rate: str = "20/minute") -> None:
        self._rate = parse(rate)
        self._limiter = FixedWindowRateLimiter(MemoryStorage())

    def retry_after(self, client: str) -> int:
        """Count a login from `client`; 0 if it may go ahead, else the seconds until its window ends."""
        key = _network(client)
        if self._limiter.hit(self._rate, key):
            return 0
        reset_at, _ = self._limiter.get_window_stats(self._rate, key)
        return max(1, math.ceil(reset_at - time.time()))


def _network(address: str) -> str:
    """IPv6 clients count per /64: one subscriber can hold billions of addresses."""
    try:
        parsed = ip_address(address)
    except ValueError:
        return address
    return str(ip_network(f"{parsed}/64", strict=False)) if parsed.version == 6 else str(parsed)
