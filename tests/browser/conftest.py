"""A real headless Chromium, driven by Playwright; skipped with the reason where it is missing."""

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from collector import public_app
from collector.settings import CollectorSettings, Site
from collector.spool import Spool, Spools, read_segment
from tests.conftest import CONSENT_KEY, serving, unused_port
from tests.sluice.processes import wait_until_up

CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Module-scoped: Playwright's sync API holds an event loop on the main thread while it runs."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if not executable:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium); .ci/run installs it")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@contextmanager
def dashboard_serving(port: int, command: list[str], env: dict[str, str]) -> Iterator[str]:
    """The Streamlit dashboard in a process of its own on `port`, until the block ends; yields its URL."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/_stcore/health", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def public_listener(sites: list[Site], spools: Spools) -> Iterator[str]:
    """The public app on a real loopback port, as browsers meet it; yields its URL."""
    with serving(public_app(CollectorSettings(), sites, spools, CONSENT_KEY)) as url:
        yield url


class _Pages(BaseHTTPRequestHandler):
    pages: dict[str, bytes] = {}
    not_found: bytes = b""

    def do_GET(self) -> None:
        page = self.pages.get(self.path)
        self.send_response(200 if page else 404)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(page or self.not_found)

    def log_message(self, *args) -> None:
        pass


@contextmanager
def website_serving(pages: dict[str, bytes], not_found: bytes = b"") -> Iterator[str]:
    """The organisation's own pages (by path), and its page for any other path (answered 404), on another
    origin than the collector; yields its URL."""
    handler = type("Site", (_Pages,), {"pages": pages, "not_found": not_found})
    server = ThreadingHTTPServer(("127.0.0.1", unused_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def spooled(spool: Spool, kind: type, count: int) -> list:
    """The records of `spool` once there are at least `count`, waiting up to ten seconds."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        records = [r for segment in spool.segments() for r in read_segment(segment, kind)]
        if len(records) >= count:
            return records
        time.sleep(0.1)
    raise AssertionError(f"expected {count} records, got {len(records)}")
