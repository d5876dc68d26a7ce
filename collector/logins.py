"""Sessions of the internal API: opaque tokens kept only as hashes, and the limits on logging in."""

import hashlib
import secrets
import time
from collections.abc import Callable

import msgspec

IDLE_SECONDS = 30 * 60
ABSOLUTE_SECONDS = 12 * 3600
MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60


class Session(msgspec.Struct, kw_only=True):
    username: str
    role: str
    opened: float
    seen: float


class Sessions:
    """Open sessions, by the hash of their token: a leaked memory dump holds no usable token."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._open: dict[str, Session] = {}

    def open(self, username: str, role: str) -> str:
        token = secrets.token_urlsafe(32)
        now = self._clock()
        self._open[_digest(token)] = Session(username=username, role=role, opened=now, seen=now)
        return token

    def find(self, token: str) -> Session | None:
        """The live session for `token`, its idle timer restarted; None once idle or too old."""
        key = _digest(token)
        session = self._open.get(key)
        now = self._clock()
        if session is None:
            return None
        if now - session.seen > IDLE_SECONDS or now - session.opened > ABSOLUTE_SECONDS:
            del self._open[key]
            return None
        session.seen = now
        return session

    def close(self, token: str) -> Session | None:
        return self._open.pop(_digest(token), None)

    def close_all(self, username: str) -> None:
        """End a user's sessions, as when they are disabled or change role."""
        for key in [key for key, session in self._open.items() if session.username == username]:
            del self._open[key]


class Throttle:
    """After five failed logins for a name, that name is locked for 15 minutes (known or not)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, list[float]] = {}

    def locked_for(self, username: str) -> int:
        """Seconds until `username` may try again; 0 if it may now."""
        recent = self._recent(username)
        if len(recent) < MAX_FAILURES:
            return 0
        return max(1, int(recent[-1] + LOCK_SECONDS - self._clock()) + 1)

    def failed(self, username: str) -> bool:
        """Count a failure; True if it locks the name."""
        recent = self._recent(username)
        recent.append(self._clock())
        self._failures[username] = recent[-MAX_FAILURES:]
        return len(recent) >= MAX_FAILURES

    def succeeded(self, username: str) -> None:
        self._failures.pop(username, None)

    def _recent(self, username: str) -> list[float]:
        now = self._clock()
        return [t for t in self._failures.get(username, []) if now - t < LOCK_SECONDS]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
