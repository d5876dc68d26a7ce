"""`sluice serve`: the public and internal listeners in one process, on one warehouse."""

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from litestar import Litestar

from collector import internal_app, public_app
from sluice.datadir import DataDir, DataDirBusy
from warehouse import WarehouseSettings, open_warehouse

log = logging.getLogger("sluice.serve")


class ServeError(Exception):
    """The server cannot start as configured."""


class Listener:
    """One address to serve an app on."""

    def __init__(self, name: str, host: str, port: int) -> None:
        self.name, self.host, self.port = name, host, port

    def bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            return socket.create_server((self.host, self.port), family=family, backlog=1024)
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise ServeError(f"cannot listen on {self.host}:{self.port} ({self.name}): {reason}") from None

    @property
    def local_url(self) -> str:
        """A URL this machine can reach the listener on, for commands run beside the server."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"


def serve(data_dir: DataDir, warehouse_settings: WarehouseSettings, public: Listener, internal: Listener) -> None:
    """Run both listeners until SIGTERM or SIGINT, then stop cleanly."""
    try:
        hold = data_dir.hold()
    except DataDirBusy:
        running = data_dir.server()
        pid = f" (pid {running.pid})" if running else ""
        raise ServeError(f"another sluice process{pid} is using {data_dir.path}") from None
    with hold:
        sockets = [public.bind(), internal.bind()]
        token = data_dir.create_ops_token()
        warehouse = open_warehouse(warehouse_settings, migrate_as="sluice serve")
        apps = [public_app(), internal_app(warehouse, token)]
        data_dir.publish_server(internal.local_url)
        try:
            asyncio.run(_serve_all(list(zip(apps, sockets, (public, internal), strict=True))))
        finally:
            data_dir.withdraw_server()
            warehouse.close()
            log.info("stopped")


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to `serve`, which stops all listeners together."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve_all(bindings: list[tuple[Litestar, socket.socket, Listener]]) -> None:
    servers = []
    for app, sock, listener in bindings:
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=10)
        servers.append(_Server(config))
        log.info("listening", extra={"listener": listener.name, "address": f"{listener.host}:{listener.port}"})
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _stop, servers, sig)
    await asyncio.gather(*(server.serve(sockets=[sock]) for server, (_, sock, _) in zip(servers, bindings, strict=True)))


def _stop(servers: list[uvicorn.Server], sig: signal.Signals) -> None:
    log.info("stopping", extra={"signal": sig.name})
    for server in servers:
        server.should_exit = True
