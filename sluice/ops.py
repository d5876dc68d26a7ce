"""How commands reach the warehouse: through the server that holds the data dir, or in-process.

Both paths talk to the same internal API, so a command behaves the same either way.
"""

import asyncio
import getpass
import secrets
import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from api.ops import ACTOR_HEADER
from collector.settings import Site
from dashboard.client import pinned
from forwarder.settings import ForwarderSettings
from scanner.settings import ScannerSettings
from sluice.datadir import DataDir, DataDirBusy
from sluice.errors import SluiceError
from sluice.internal import internal_api
from sluice.tls import TlsSettings
from warehouse import WarehouseSettings, parse_dsn
from warehouse.settings import AuditSettings

_SERVER_WAIT = 60.0


class OpsError(SluiceError):
    """An operation the server or the in-process API refused or could not do."""


@asynccontextmanager
async def ops_client(
    data_dir: DataDir, warehouse: WarehouseSettings, *, migrate: bool = True, existing: bool = False,
    forwarder: ForwarderSettings = ForwarderSettings(), scanner: ScannerSettings = ScannerSettings(),
    instance: str = "sluice", sites: Sequence[Site] = (), audit: AuditSettings = AuditSettings(),
    tls: TlsSettings = TlsSettings(),
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the internal API for the server holding `data_dir`, else of an in-process one.

    In-process, the schema is brought up to date first, as `sluice serve` does at start, unless
    the caller is about to migrate through the API itself. With `existing`, an embedded warehouse
    must already be there: checking a warehouse that a typo just created proves nothing. An
    in-process API audits on the chain of this `instance`.
    """
    try:
        hold = data_dir.hold()
    except DataDirBusy:
        async with _server_client(data_dir, tls) as client:
            yield client
        return
    with hold:
        dsn = parse_dsn(warehouse.dsn)
        if existing and dsn.embedded and not Path(dsn.path).is_dir():
            raise OpsError(f"there is no warehouse at {dsn.path}; check --data-dir")
        async with _in_process_client(warehouse, migrate, data_dir, forwarder, scanner, instance, sites,
                                      audit) as client:
            yield client


def checked(response: httpx.Response) -> httpx.Response:
    """The response, or an `OpsError` that says what the API answered."""
    if response.is_success:
        return response
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    raise OpsError(f"{response.request.method} {response.request.url.path} failed ({response.status_code}): {detail}")


@asynccontextmanager
async def _server_client(data_dir: DataDir, tls: TlsSettings) -> AsyncIterator[httpx.AsyncClient]:
    server = await _wait_for_server(data_dir)
    headers = {"authorization": f"Bearer {data_dir.ops_token()}", ACTOR_HEADER: getpass.getuser()}
    async with httpx.AsyncClient(base_url=server, headers=headers, timeout=600, verify=_trusting(tls)) as client:
        try:
            yield client
        except httpx.TransportError as exc:
            raise OpsError(f"the sluice server at {server} did not answer: {exc}") from None


def _trusting(tls: TlsSettings) -> ssl.SSLContext | bool:
    """Commands reach the server on loopback: they trust exactly its certificate, and present theirs if asked."""
    return pinned(tls.cert, tls.client_cert, tls.client_key) if tls.enabled else True


@asynccontextmanager
async def _in_process_client(settings: WarehouseSettings, migrate: bool, data_dir: DataDir,
                             forwarder: ForwarderSettings, scanner: ScannerSettings, instance: str,
                             sites: Sequence[Site], audit: AuditSettings) -> AsyncIterator[httpx.AsyncClient]:
    user = getpass.getuser()
    warehouse = await asyncio.to_thread(data_dir.open_warehouse, settings, audit, chain=instance,
                                        migrate_as=f"ops:{user}" if migrate else None)
    token = secrets.token_urlsafe(32)
    headers = {"authorization": f"Bearer {token}", ACTOR_HEADER: user}
    app, _ = internal_api(warehouse, token, data_dir, sites=sites, forwarder=forwarder, scanner=scanner,
                          instance=instance, audit=audit)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://sluice", headers=headers) as client:
            yield client
    finally:
        warehouse.close()


async def _wait_for_server(data_dir: DataDir) -> str:
    """The holder may still be starting: give it a moment to say where it listens."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _SERVER_WAIT
    while (server := data_dir.server()) is None:
        if loop.time() > deadline:
            raise OpsError(f"another sluice process holds {data_dir.path} and is not serving; try again when it ends")
        await asyncio.sleep(0.2)
    return server.internal_url
