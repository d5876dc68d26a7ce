"""What `sluice up --demo` runs beside Sluice so that every page has something to show, all on loopback.

A small hospital website with trackers planted in its pages, for the scanner to find (their tags are only
named in the HTML, never loaded); a receiver of the forwarder's signed webhook; and the policy that sends
the demo's bookings to it and to CSV files. Nothing leaves the box.
"""

import hashlib
import hmac
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec

from collector.demo import CAMPAIGN_RUNS, SOURCES
from forwarder.settings import CsvDestination, ForwarderSettings, Signal, WebhookDestination
from scanner.settings import ScannerSettings, Target

SECRET_ENV = "SLUICE_DEMO_WEBHOOK_SECRET"
RECEIVER = "/demo-receiver"
_PLANTED = """<script async src="https://www.googletagmanager.com/gtag/js?id=G-DEMO123"></script>
<script src="https://connect.facebook.net/en_US/fbevents.js"></script>
<noscript><img height="1" width="1" src="https://www.facebook.com/tr?id=000000000000000&ev=PageView"></noscript>"""
_PAGES = {
    "/": f"<h1>Example Hospital</h1>{_PLANTED}<a href='/services/cardiology'>Heart care</a> "
         "<a href='/appointments'>Book</a>",
    "/services/cardiology": "<h1>Heart care</h1><script src='https://analytics.tiktok.com/i18n/pixel/events.js'>"
                            "</script><a href='/'>Home</a>",
    "/appointments": "<h1>Book an appointment</h1><script src='https://static.hotjar.com/c/hotjar-123.js'></script>"
                     "<form id='appointment'><input name='name'></form>",
}


class _Handler(BaseHTTPRequestHandler):
    secret = ""
    received: list[bytes] = []

    def do_GET(self) -> None:
        page = _PAGES.get(self.path.split("?")[0])
        self._answer(200 if page else 404, f"<!doctype html><title>Example Hospital</title>{page or 'Not found'}")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        timestamp = self.headers.get("sluice-timestamp", "")
        expected = hmac.new(self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        signed = hmac.compare_digest(self.headers.get("sluice-signature", ""), f"v1={expected}")
        if self.path != RECEIVER or not signed:
            self._answer(401, "unsigned")
            return
        self.received.append(body)
        self._answer(200, "received")

    def _answer(self, status: int, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@contextmanager
def demo_site(secret: str | None = None) -> Iterator[tuple[str, str, list[bytes]]]:
    """Serve the demo website and webhook receiver on a free loopback port; yield its URL, the webhook's
    secret and the bodies it received."""
    received: list[bytes] = []
    handler = type("DemoSite", (_Handler,), {"secret": secret or secrets.token_urlsafe(24), "received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="demo-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.secret, received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def with_demo(forwarder: ForwarderSettings, scanner: ScannerSettings, site: str,
              url: str) -> tuple[ForwarderSettings, ScannerSettings]:
    """The configured policy and scan, or where the config has none, the demo's: bookings per source and campaign
    to CSV and to the demo's receiver, and a scan of the demo website."""
    if not forwarder.destinations:
        forwarder = msgspec.structs.replace(
            forwarder, enabled=True, backfill_days=7,
            signals=[Signal(event="appointment_request", name="Lead")],
            destinations=[CsvDestination(id="demo-csv", signals=["Lead"]),
                          WebhookDestination(id="demo-webhook", signals=["Lead"], url=f"{url}{RECEIVER}",
                                             secret_env=SECRET_ENV)],
            values={"utm_source": sorted({s[2][0] for s in SOURCES if s[2]}),
                    "utm_campaign": sorted({c for s in SOURCES for c in s[3]} | set(CAMPAIGN_RUNS))})
    if not scanner.targets:
        scanner = msgspec.structs.replace(scanner, targets=[Target(site=site, start_urls=[f"{url}/"])])
    return forwarder, scanner
