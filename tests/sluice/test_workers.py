"""A public worker process loads the collector and the warehouse client, and nothing of the internal API; it
serves with what it made while starting left out of garbage collections."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import msgspec

from collector.settings import CollectorSettings, Site
from sluice.deadlines import Limits
from sluice.workers import WorkerPlan
from tests.conftest import CONSENT_KEY
from tests.sluice.processes import env, wait_until_up

# Runs the worker as `serve` does, writing down every module it has loaded (and how many objects garbage
# collections leave out) as it goes.
_WORKER = """
import gc, json, os, runpy, sys, threading, time
def note(path):
    while True:
        with open(path + ".tmp", "w") as out:
            out.write(json.dumps({"modules": sorted(sys.modules), "frozen": gc.get_freeze_count()}))
        os.replace(path + ".tmp", path)
        time.sleep(0.1)
threading.Thread(target=note, args=[sys.argv.pop()], daemon=True).start()
runpy.run_module("sluice.workers", run_name="__main__")
"""
_INTERNAL = ("api", "forwarder", "scanner", "dashboard", "zxcvbn", "argon2", "opendp", "streamlit", "apscheduler")


def test_a_worker_serves_collect_without_loading_the_internal_api(tmp_path: Path):
    listening = socket.create_server(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    plan = WorkerPlan(collector=CollectorSettings(), sites=[Site(id="main", origins=["*"])], consent_key=CONSENT_KEY,
                      spool_dir=str(tmp_path / "spool"), metrics_dir=str(tmp_path), log_level="warning",
                      limits=Limits())
    loaded = tmp_path / "modules.json"
    worker = subprocess.Popen([sys.executable, "-c", _WORKER, str(listening.fileno()), str(os.getpid()), str(loaded)],
                              stdin=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=[listening.fileno()], env=env())
    try:
        worker.stdin.write(msgspec.json.encode(plan))
        worker.stdin.close()
        wait_until_up(f"http://127.0.0.1:{port}/healthz", worker)
        base = f"http://127.0.0.1:{port}"
        answers = [  # every route a browser reaches, good input and bad
            httpx.get(f"{base}/t.js"),
            httpx.post(f"{base}/collect", json={"site": "main", "name": "pageview", "url": "https://h.example/"}),
            httpx.post(f"{base}/collect", content=b"{not json", headers={"content-type": "text/plain"}),
            httpx.post(f"{base}/consent", json={"site": "main", "analytics": True, "ads": False,
                                                "policy_version": "1"}),
            httpx.get(f"{base}/consent", params={"site": "main"}),
            httpx.post(f"{base}/csp-report", json={"csp-report": {"document-uri": "https://h.example/",
                                                                  "blocked-uri": "https://t.example/x.js"}},
                       headers={"content-type": "application/csp-report"}),
        ]
        assert [a.status_code for a in answers] == [200, 202, 400, 202, 200, 202]
        time.sleep(0.5)  # the modules as of after the request
        noted = json.loads(loaded.read_text())
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        listening.close()
    assert "collector.collect" in noted["modules"]
    assert [m for m in noted["modules"] if m.split(".")[0] in _INTERNAL] == []
    assert noted["frozen"] > 10_000, "start-up objects are left out of collections (a full one stalled requests)"
