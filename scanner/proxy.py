"""The dynamic mode's way out: a forward proxy on loopback that Chromium must send every request through.

Playwright routes a page's requests but not their redirect hops, a service worker's fetches or WebSockets.
Chromium sends all of those to its proxy, so here each one is checked against the scan's `Scope` before a
connection is opened: a public site's page never reaches into the network the scanner runs in.
"""

import asyncio
import threading
from typing import NamedTuple
from urllib.parse import urlsplit

from scanner.crawl import Scope

_HEAD_BYTES = 64 * 1024
_HEAD_SECONDS = 10.0
_CONNECT_SECONDS = 10.0
_HOP_HEADERS = ("proxy-connection", "proxy-authorization", "connection", "keep-alive")
_REFUSED = (b"HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 38\r\nconnection: close\r\n\r\n"
            b"refused: not an address this scan uses")


class FilteringProxy:
    """Runs on a thread of its own while in a `with` block, which gives the proxy's URL."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="scanner-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self.refused: list[str] = []
        """host:port of each connection refused, in order."""

    def __enter__(self) -> str:
        self._thread.start()
        try:
            self._server = asyncio.run_coroutine_threadsafe(
                asyncio.start_server(self._serve, "127.0.0.1", 0, limit=_HEAD_BYTES), self._loop).result()
        except BaseException:
            self.__exit__()
            raise
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc_info: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    async def _stop(self) -> None:
        """Close the listener and every connection still open, and wait for each to end."""
        if self._server is not None:
            self._server.close()
        connections = asyncio.all_tasks() - {asyncio.current_task()}
        for task in connections:
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)
        await self._loop.shutdown_default_executor()

    async def _serve(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(client.readuntil(b"\r\n\r\n"), _HEAD_SECONDS)
            request = _Request.parse(head)
            if request is None or not await asyncio.to_thread(self._scope.reachable, request.host, request.port):
                self.refused.append(f"{request.host}:{request.port}" if request else "(unreadable)")
                to_client.write(_REFUSED)
                await to_client.drain()
                to_client.close()
                return
            upstream, to_upstream = await asyncio.wait_for(
                asyncio.open_connection(request.host, request.port), _CONNECT_SECONDS)
        except (OSError, ValueError, asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            to_client.close()
            return
        try:
            if request.tunnel:
                to_client.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            else:
                to_upstream.write(request.forwarded)
            await asyncio.gather(_pipe(client, to_upstream), _pipe(upstream, to_client))
        finally:
            to_upstream.close()
            to_client.close()


class _Request(NamedTuple):
    """A proxy request's head: where it goes, and (for plain HTTP) what to send there."""

    host: str
    port: int
    tunnel: bool
    forwarded: bytes = b""

    @classmethod
    def parse(cls, head: bytes) -> "_Request | None":
        line, *headers = head.decode("latin-1").rstrip("\r\n").split("\r\n")
        method, _, rest = line.partition(" ")
        target, _, version = rest.partition(" ")
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            return cls(host.strip("[]").lower(), int(port), tunnel=True) if port.isdigit() and host else None
        parts = urlsplit(target)
        if parts.scheme != "http" or not parts.hostname:
            return None
        kept = [h for h in headers if h.partition(":")[0].strip().lower() not in _HOP_HEADERS]
        # One request per connection: a reused connection could carry a second request for another host.
        origin_form = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        forwarded = "\r\n".join([f"{method} {origin_form} {version}", *kept, "connection: close", "", ""])
        return cls(parts.hostname.lower(), parts.port or 80, tunnel=False, forwarded=forwarded.encode("latin-1"))


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
    except OSError:
        pass
    finally:
        sink.close()
