"""Public-listener worker processes: they parse, enrich and append to the spool, nothing else.

The main process owns the warehouse, the internal listener and the spool writer. Workers share
the public listening socket (the kernel spreads connections), write their own spool segments,
and leave their counters in snapshot files that the main process adds to its metrics.
"""

import asyncio
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import msgspec
import uvicorn
import uvloop

from collector import metrics, public_app
from collector.settings import CollectorSettings, Site
from collector.spool import Spools
from sluice.deadlines import Limits, uvicorn_config
from sluice.heap import freeze_startup_objects
from sluice.tls import Certificates, TlsSettings, reload_on_sighup, sighup_held

log = logging.getLogger("sluice.workers")
_PR_SET_PDEATHSIG = 1
_STOP_SECONDS = 15.0


class WorkerPlan(msgspec.Struct, frozen=True, kw_only=True):
    """What a worker needs, written to its stdin (never its command line: it holds the consent key)."""

    collector: CollectorSettings
    sites: list[Site]
    consent_key: bytes
    spool_dir: str
    metrics_dir: str
    log_level: str
    limits: Limits
    tls: TlsSettings = TlsSettings()


class Workers:
    """Starts the workers, restarts any that dies, and stops them together."""

    def __init__(self, count: int, plan: WorkerPlan, listening: socket.socket) -> None:
        self._count = count
        self._plan = msgspec.json.encode(plan)
        self._listening = listening
        self._processes: list[subprocess.Popen] = []
        self.stopping = False

    def start(self) -> None:
        self._processes = [self._spawn() for _ in range(self._count)]

    async def supervise(self) -> None:
        while not self.stopping:
            await asyncio.sleep(1.0)
            for index, process in enumerate(self._processes):
                if process.poll() is not None and not self.stopping:
                    log.error("public worker exited; starting another", extra={"pid": process.pid,
                                                                            "exit": process.returncode})
                    self._processes[index] = self._spawn()

    async def stop(self) -> None:
        """SIGTERM every worker; each finishes its requests and closes its spool segment."""
        self.stopping = True
        for process in self._processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self._processes:
            try:
                await asyncio.to_thread(process.wait, _STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)

    def reload(self) -> None:
        """SIGHUP every worker: each loads its certificate again."""
        for process in self._processes:
            if process.poll() is None:
                process.send_signal(signal.SIGHUP)

    def _spawn(self) -> subprocess.Popen:
        fd = self._listening.fileno()
        with sighup_held():
            # A session of its own: Ctrl+C in a terminal reaches this process, which stops the workers with
            # SIGTERM, not each worker as well (that would print a KeyboardInterrupt for each).
            process = subprocess.Popen([sys.executable, "-m", "sluice.workers", str(fd), str(os.getpid())],
                                       stdin=subprocess.PIPE, pass_fds=[fd], start_new_session=True)
        process.stdin.write(self._plan)
        process.stdin.close()
        return process


def _run_worker(fd: int, parent: int) -> None:
    _end_with_parent(parent)
    plan = msgspec.json.decode(sys.stdin.buffer.read(), type=WorkerPlan)
    from sluice.logs import configure_logging

    configure_logging(plan.log_level)
    spools = Spools.configured(Path(plan.spool_dir), plan.collector)
    app = public_app(plan.collector, plan.sites, spools, plan.consent_key)
    _publish_metrics(Path(plan.metrics_dir) / f"{os.getpid()}.json")
    config, certificates = uvicorn_config(app, plan.limits), Certificates(plan.tls)
    certificates.secure(config)
    reload_on_sighup(certificates)
    freeze_startup_objects()
    uvloop.run(uvicorn.Server(config).serve(sockets=[socket.socket(fileno=fd)]))


def _end_with_parent(parent: int) -> None:
    """A worker whose main process is gone stops too (gracefully, so its spool segment is closed)."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it went before the request above took effect
        sys.exit(0)


def _publish_metrics(path: Path) -> None:
    def publish() -> None:
        while True:
            metrics.write_snapshot(path)
            time.sleep(1.0)

    threading.Thread(target=publish, name="metrics", daemon=True).start()


if __name__ == "__main__":
    _run_worker(int(sys.argv[1]), int(sys.argv[2]))
