"""A hospital website on loopback with known trackers planted in it."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec
import pytest

from scanner.settings import ScannerSettings

PAGES = {
    "/": """<html><head>
<script src="/static/app.js"></script>
<script src="https://connect.facebook.net/en_US/fbevents.js"></script>
<script>!function(f){f.fbq=function(){};}(window); fbq('init', '1234567890'); fbq('track', 'PageView');</script>
<link rel="stylesheet" href="https://fonts.allowed-cdn.example/css?family=Sans">
</head><body>
<noscript><img height="1" width="1" src="https://www.facebook.com/tr?id=1234567890&ev=PageView&noscript=1"></noscript>
<a href="/services">Services</a> <a href="/services#top">Again</a> <a href="https://elsewhere.example/">Away</a>
<a href="mailto:info@example-hospital.org">Mail</a>
</body></html>""",
    "/services": """<html><head>
<link rel="preconnect" href="https://bat.bing.com">
<script src="/tag-manager.js"></script>
<script>window.dataLayer = []; function gtag(){dataLayer.push(arguments);} gtag('config', 'G-TEST123');</script>
</head><body>
<iframe src="https://www.googletagmanager.com/ns.html?id=GTM-ABCD12"></iframe>
<a href="/">Home</a>
</body></html>""",
    "/hidden": """<html><body><script src="https://analytics.tiktok.com/i18n/pixel/events.js"></script></body></html>""",
}
FILES = {
    "/static/app.js": ("application/javascript", "console.log('first party');"),
    "/tag-manager.js": ("application/javascript", "var s = document.createElement('script');"
                        "s.src = 'https://snap.licdn.com/li.lms-analytics/insight.min.js';"
                        "document.head.appendChild(s);"),
}
# Every third party planted: (path, host, vendor, kind); the statically visible ones.
PLANTED = {
    ("/", "connect.facebook.net", "Meta Pixel", "script"),
    ("/", "connect.facebook.net", "Meta Pixel", "inline"),
    ("/", "www.facebook.com", "Meta Pixel", "image"),
    ("/", "fonts.allowed-cdn.example", "", "stylesheet"),
    ("/services", "bat.bing.com", "Microsoft UET", "preload"),
    ("/services", "google-analytics.com", "Google Analytics", "inline"),
    ("/services", "www.googletagmanager.com", "Google Tag Manager", "iframe"),
    ("/hidden", "analytics.tiktok.com", "TikTok Pixel", "script"),
}
# Only a browser sees it: the first-party tag manager injects it.
INJECTED = ("/services", "snap.licdn.com", "LinkedIn Insight")


class Site:
    def __init__(self) -> None:
        self.pages = dict(PAGES)
        self.files = dict(FILES)
        self.csp = ""
        self.redirects: dict[str, str] = {}
        self.sitemaps: dict[str, str] = {}
        """Path -> XML served there; /sitemap.xml lists the site's pages unless given here."""
        self.hits: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                path = self.path.split("?")[0]
                outer.hits.append(path)
                if path in outer.redirects:
                    self.send_response(302)
                    self.send_header("location", outer.redirects[path])
                    self.send_header("content-length", "0")
                    self.end_headers()
                elif path in outer.sitemaps:
                    self._send(200, "application/xml", outer.sitemaps[path])
                elif path == "/sitemap.xml":
                    locs = "".join(f"<url><loc>{outer.url}{p}</loc></url>" for p in ("/", "/services", "/hidden"))
                    self._send(200, "application/xml", f"<urlset>{locs}</urlset>")
                elif path in outer.pages:
                    self._send(200, "text/html; charset=utf-8", outer.pages[path])
                elif path in outer.files:
                    self._send(200, *outer.files[path])
                else:
                    self._send(404, "text/plain", "not found")

            def _send(self, status: int, kind: str, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(data)))
                if outer.csp and kind.startswith("text/html"):
                    self.send_header("content-security-policy-report-only", outer.csp)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def elsewhere():
    """Another server on this machine: an address inside the network that a crawl must not reach."""
    other = Site()
    yield other
    other.close()


@pytest.fixture
def site():
    running = Site()
    yield running
    running.close()


def settings(site: Site, **changes) -> ScannerSettings:
    policy = {"targets": [{"site": "main", "start_urls": [site.url + "/"]}],
              "allowed": [{"host": "allowed-cdn.example", "vendor": "Allowed CDN", "baa_signed": "2025-03-01"}],
              "timeout_seconds": 5}
    return msgspec.convert(policy | changes, ScannerSettings)
