"""The listeners' deadlines and cap, so that slow or abusive clients cannot hold them.

uvicorn closes idle keep-alive connections and answers 503 past a concurrency limit, but waits
for a request's headers and body as long as the client likes: the protocol here gives each a deadline.
"""

import asyncio
from typing import Annotated, Any, Literal

import msgspec
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from collector.metrics import CONNECTIONS_CUT

_Seconds = Annotated[float, msgspec.Meta(gt=0, le=600)]
_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class Limits(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """How long a client may take, and how many may be served at once, per listening process."""

    header_seconds: _Seconds = 10.0
    """From a connection (or a kept-alive request's first byte) to the end of the request's headers."""
    body_seconds: _Seconds = 30.0
    """From the end of the headers to the end of the body."""
    keepalive_seconds: _Seconds = 5.0
    """How long an idle connection stays open between requests."""
    max_connections: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 1000
    """Connections (or requests in flight) past which new requests are answered 503."""


def uvicorn_config(app: Any, limits: Limits) -> uvicorn.Config:
    """uvicorn's config for one of Sluice's listeners, with `limits` applied."""
    # X-Forwarded-For is the collector's to judge, against its own trusted proxies.
    return uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", proxy_headers=False,
                          timeout_graceful_shutdown=10, http=_deadlined(limits),
                          timeout_keep_alive=limits.keepalive_seconds, limit_concurrency=limits.max_connections)


def _deadlined(limits: Limits) -> type[HttpToolsProtocol]:
    class DeadlinedProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol, cutting off a request whose headers or body come too slowly."""

        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm(limits.header_seconds, "headers")

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._deadline is None:  # a kept-alive connection's next request
                self._arm(limits.header_seconds, "headers")

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            self._arm(limits.body_seconds, "body")

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self, seconds: float, part: Literal["headers", "body"]) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, self._cut, part)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _cut(self, part: str) -> None:
            self._deadline = None
            if self.transport.is_closing():
                return
            CONNECTIONS_CUT.labels(part).inc()
            answered = part == "body" and self.cycle is not None and self.cycle.response_started
            if not answered:
                self.transport.write(_TIMED_OUT)
            self.transport.close()

    return DeadlinedProtocol
