"""`sluice serve`: the public and internal listeners in one process, on one warehouse."""

import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, timedelta
from importlib.metadata import version

import msgspec
import uvicorn
import uvloop
from apscheduler.schedulers.background import BackgroundScheduler
from litestar import Litestar

from api.directory import LoginSettings
from collector import metrics, public_app
from collector.settings import CollectorSettings, Site
from collector.spool import Spools
from collector.writer import Writer
from forwarder.settings import ForwarderSettings
from mail import MailSettings
from mail.schedule import schedule_mail
from scanner.schedule import schedule_scans
from scanner.settings import ScannerSettings
from sluice.backup import BackupSettings
from sluice.datadir import DataDir, DataDirBusy
from sluice.deadlines import Limits, uvicorn_config
from sluice.errors import SluiceError
from sluice.forwarding import schedule_forwarding
from sluice.heap import freeze_startup_objects
from sluice.tls import Certificates, TlsSettings
from sluice.internal import internal_api
from sluice.upkeep import (audit_stream, push_audit_stream, schedule_anchoring, schedule_audit_stream,
                           schedule_backups, schedule_upkeep)
from sluice.workers import WorkerPlan, Workers
from warehouse import WarehouseSettings
from warehouse.settings import AuditSettings

log = logging.getLogger("sluice.serve")
_DRAIN_SECONDS = 20.0


class ServeError(SluiceError):
    """The server cannot start as configured."""


class Listener:
    """One address to serve an app on; over HTTPS with `secure`, asking clients for certificates with
    `verify_clients` where a client CA is configured."""

    def __init__(self, name: str, host: str, port: int, *, secure: bool = False, verify_clients: bool = False) -> None:
        self.name, self.host, self.port = name, host, port
        self.secure, self.verify_clients = secure, verify_clients

    def bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # An explicit IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say so,
        # and without it every response waits ~40 ms for a delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(1024)
            return sock
        except OSError as exc:
            sock.close()
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise ServeError(f"cannot listen on {self.host}:{self.port} ({self.name}): {reason}") from None

    @property
    def local_url(self) -> str:
        """A URL this machine can reach the listener on, for commands run beside the server."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        scheme = "https" if self.secure else "http"
        return f"{scheme}://[{host}]:{self.port}" if ":" in host else f"{scheme}://{host}:{self.port}"


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """Everything `serve` runs, as configured."""

    data_dir: DataDir
    warehouse: WarehouseSettings
    audit: AuditSettings
    collector: CollectorSettings
    sites: list[Site]
    public: Listener
    internal: Listener
    public_workers: int = 0
    log_level: str = "info"
    forwarder: ForwarderSettings = ForwarderSettings()
    scanner: ScannerSettings = ScannerSettings()
    mail: MailSettings = MailSettings()
    first_scan_after: timedelta = timedelta(minutes=1)
    """How soon after start the first scan runs: a minute, so that it does not slow a start; the demo's sooner."""
    instance: str = "sluice"
    """This instance's name on the warehouse: its audit chain, and the owner of the leases it takes."""
    limits: Limits = Limits()
    config: str = ""
    """The config file this plan was read from ("" for every default): named in the log at start."""
    tls: TlsSettings = TlsSettings()
    backup: BackupSettings = BackupSettings()
    login: LoginSettings = LoginSettings()


def serve(plan: Plan, companions: Sequence[subprocess.Popen] = ()) -> None:
    """Run both listeners and the spool writer until SIGTERM or SIGINT, then stop cleanly; SIGHUP reloads the
    certificates, here and in the `companions` started beside it (the dashboard)."""
    data_dir = plan.data_dir
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a reload while it starts is not a stop (the listeners reload)
    os.umask(0o077)  # the warehouse and spool files are for the service account only
    try:
        hold = data_dir.hold()
    except DataDirBusy:
        running = data_dir.server()
        pid = f" (pid {running.pid})" if running else ""
        raise ServeError(f"another sluice process{pid} is using {data_dir.path}") from None
    with hold, ExitStack() as cleanup:
        data_dir.withdraw_server()
        sockets = [plan.public.bind(), plan.internal.bind()]
        for sock in sockets:
            cleanup.callback(sock.close)
        token = data_dir.create_ops_token()
        consent_key = data_dir.consent_key()
        warehouse = data_dir.open_warehouse(plan.warehouse, plan.audit, chain=plan.instance, migrate_as="sluice serve")
        cleanup.callback(warehouse.close)
        _warn_about_open_sites(plan.sites)
        spools = Spools.configured(data_dir.path / "spool", plan.collector)
        app, forwarder = internal_api(warehouse, token, data_dir, sites=plan.sites,
                                      forwarder=plan.forwarder, scanner=plan.scanner, mail=plan.mail,
                                      instance=plan.instance, audit=plan.audit, login=plan.login)
        if forwarder is not None:
            forwarder.record_policy()  # a changed policy is on record from the start, sent or not
        log.info("starting", extra={"version": version("sluice"), "config": plan.config or "(none: every default)",
                                    "instance": plan.instance, "data_dir": str(data_dir.path),
                                    "policy_version": forwarder.version() if forwarder else "(forwarder off)"})
        internal = (app, sockets[1], plan.internal)
        scheduler = BackgroundScheduler(timezone=UTC)
        schedule_forwarding(scheduler, forwarder)
        schedule_scans(scheduler, plan.scanner, {site.id: site.origins for site in plan.sites}, warehouse,
                       instance=plan.instance, first_after=plan.first_scan_after)
        schedule_upkeep(scheduler, warehouse, [site.id for site in plan.sites], plan.instance)
        schedule_mail(scheduler, plan.mail, warehouse, [site.id for site in plan.sites], os.environ, plan.instance)
        schedule_anchoring(scheduler, warehouse, plan.audit.anchor_minutes)
        schedule_backups(scheduler, plan.backup, warehouse, data_dir, data_dir.anchors(plan.audit))
        stream = audit_stream(warehouse, plan.audit, data_dir.path)
        schedule_audit_stream(scheduler, stream, plan.audit.stream_seconds)
        if stream:
            cleanup.callback(push_audit_stream, stream)  # after the schedule stops: what the stop itself wrote
        scheduler.start()
        cleanup.callback(scheduler.shutdown)
        if plan.public_workers:
            bindings, workers = [internal], _workers(plan, spools, sockets[0], consent_key)
        else:
            bindings, workers = [(public_app(plan.collector, plan.sites, spools, consent_key), sockets[0], plan.public),
                                 internal], None
        data_dir.publish_server(plan.internal.local_url)
        cleanup.callback(data_dir.withdraw_server)
        freeze_startup_objects()
        uvloop.run(_serve_all(bindings, Writer(spools, warehouse), workers, plan.limits, Certificates(plan.tls),
                              companions))
        log.info("stopped")


def _workers(plan: Plan, spools: Spools, listening: socket.socket, consent_key: bytes) -> Workers:
    metrics_dir = plan.data_dir.path / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)  # counters start again with this process
    metrics_dir.mkdir()
    metrics.add_up_workers(metrics_dir)
    worker_plan = WorkerPlan(collector=plan.collector, sites=plan.sites, consent_key=consent_key,
                             spool_dir=str(spools.events.directory.parent), metrics_dir=str(metrics_dir),
                             log_level=plan.log_level, limits=plan.limits, tls=plan.tls)
    log.info("listening", extra={"listener": plan.public.name, "address": f"{plan.public.host}:{plan.public.port}",
                                 "workers": plan.public_workers})
    return Workers(plan.public_workers, worker_plan, listening)


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to `serve`, which stops all listeners together."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve_all(bindings: list[tuple[Litestar, socket.socket, Listener]], writer: Writer,
                     workers: Workers | None, limits: Limits, certificates: Certificates,
                     companions: Sequence[subprocess.Popen]) -> None:
    servers = []
    for app, sock, listener in bindings:
        config = uvicorn_config(app, limits)
        certificates.secure(config, verify_clients=listener.verify_clients)
        servers.append(_Server(config))
        log.info("listening", extra={"listener": listener.name, "address": f"{listener.host}:{listener.port}",
                                     "tls": listener.secure})
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _stop, servers, workers, sig)
    loop.add_signal_handler(signal.SIGHUP, _reload, certificates, workers, companions)
    loading = asyncio.create_task(writer.run())
    if workers:
        workers.start()
        supervising = asyncio.create_task(workers.supervise())
    await asyncio.gather(*(server.serve(sockets=[sock]) for server, (_, sock, _) in zip(servers, bindings, strict=True)))
    if workers:
        supervising.cancel()
        await workers.stop()
    # The listeners are closed and the spools' last segments with them: put what is left in the warehouse.
    loading.cancel()
    if not await writer.drain(_DRAIN_SECONDS):
        log.warning("spool not fully drained; it will be replayed at next start")


def _warn_about_open_sites(sites: list[Site]) -> None:
    for site in sites:
        if "*" in site.origins:
            log.warning(
                "site accepts events from any origin; list your website's origins under [[sites]] in the config file",
                extra={"site": site.id},
            )


def _reload(certificates: Certificates, workers: Workers | None, companions: Sequence[subprocess.Popen]) -> None:
    certificates.reload()
    if workers:
        workers.reload()
    for process in companions:
        if process.poll() is None:
            process.send_signal(signal.SIGHUP)


def _stop(servers: list[uvicorn.Server], workers: Workers | None, sig: signal.Signals) -> None:
    log.info("stopping", extra={"signal": sig.name})
    if workers:
        workers.stopping = True
    for server in servers:
        server.should_exit = True
