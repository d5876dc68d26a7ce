"""A second client beside a warehouse's own, so that a query need not wait for the check it depends on.

What some queries depend on changes seldom (which report cells are current, a site's goals). `checked` runs
such a query on the check's last answer while the second client makes the check again, and runs it again
only if the answer changed: the caller waits for the longer of the two, not for both.
"""

import threading
import weakref
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from clickhouse_connect.driver.client import Client

_ANSWERS_KEPT = 512
"""Answers remembered per client: a check of one period each, of which the dashboard makes a few dozen."""
_NOTHING = object()
_A = TypeVar("_A")
_T = TypeVar("_T")


class _Beside:
    """The second client, and the last answer of each check made on it."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._answers: dict[Hashable, Any] = {}

    def last(self, key: Hashable) -> Any:
        with self._lock:
            return self._answers.get(key, _NOTHING)

    def remember(self, key: Hashable, answer: Any) -> None:
        with self._lock:
            if len(self._answers) >= _ANSWERS_KEPT:
                self._answers.clear()
            self._answers[key] = answer


_BESIDE: "weakref.WeakKeyDictionary[Client, _Beside]" = weakref.WeakKeyDictionary()
# A task here gets the second client, which has none beside it, so whatever it calls runs inline: no task
# waits for another, and the pool cannot deadlock. Keep it so: never hand a task the main client.
_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="beside")


def attach(client: Client, other: Client) -> None:
    """Make `other`, a client of its own on the same warehouse, the one beside `client`."""
    _BESIDE[client] = _Beside(other)


def detach(client: Client) -> Client | None:
    """Stop using the client beside `client`, and return it for its owner to close."""
    gone = _BESIDE.pop(client, None)
    return gone.client if gone else None


def run(client: Client, call: Callable[[Client], _T]) -> Future[_T]:
    """`call` on the client beside `client`, started now; without one, on `client` itself before returning."""
    other = _BESIDE.get(client)
    if other is not None:
        return _THREADS.submit(call, other.client)
    done: Future[_T] = Future()
    done.set_result(call(client))
    return done


def checked(client: Client, key: Hashable, check: Callable[[Client], _A], then: Callable[[_A], _T]) -> _T:
    """`then` on what `check` answers now. With a client beside `client`, `then` starts on the last answer of
    the check named `key` while that client checks again, and runs again only if the answer changed: the
    result is always that of `then` on the answer as it was when asked for."""
    other = _BESIDE.get(client)
    if other is None:
        return then(check(client))
    last = other.last(key)
    checking = _THREADS.submit(check, other.client)
    result, failure = _NOTHING, None
    if last is not _NOTHING:
        try:
            result = then(last)
        except Exception as exc:  # kept until the check says whether `last` still holds
            failure = exc
    answer = checking.result()
    other.remember(key, answer)
    if answer != last:
        return then(answer)
    if failure is not None:
        raise failure
    return result
