"""In dynamic mode a public site's page never reaches into the network: not by a request, a redirect hop,
a service worker or a WebSocket; each attempt is still reported."""

import os
import socket

import httpx
import pytest

from scanner.browser import chromium
from scanner.scan import scan_site
from tests.scanner.conftest import settings

pytestmark = pytest.mark.skipif(chromium() is None, reason="Chromium is not installed (Debian: apt install chromium)")
PUBLIC = "93.184.215.14"


def _scan_as_public(site):
    """Scan the fixture site's front page as if it were public: its host resolves to a public address."""
    policy = settings(site, dynamic=True, max_pages=1, max_depth=0)
    resolver = lambda host: {PUBLIC} if host == "127.0.0.1" else {"127.0.0.1"}  # noqa: E731
    with httpx.Client() as http:
        return scan_site(policy.targets[0], policy, http, resolver=resolver)


def _inside(elsewhere) -> str:
    return f"localhost:{elsewhere.url.rsplit(':', 1)[1]}"


def test_a_request_into_the_network_is_blocked_and_still_reported(site, elsewhere, caplog):
    site.pages["/"] = f'<html><body><img src="http://{_inside(elsewhere)}/pixel"></body></html>'
    result = _scan_as_public(site)
    assert any(f.host == "localhost" and f.kind == "request" for f in result.findings)
    assert elsewhere.hits == []
    if os.geteuid() == 0:  # Chromium refuses its sandbox to root: the scan says so rather than fail
        assert "Chromium's sandbox is not available here" in caplog.text


def test_a_redirect_hop_into_the_network_is_blocked_and_still_reported(site, elsewhere):
    site.pages["/"] = '<html><body><img src="/moved.gif"></body></html>'
    site.redirects["/moved.gif"] = f"http://{_inside(elsewhere)}/pixel"
    result = _scan_as_public(site)
    assert "/moved.gif" in site.hits  # the first hop went out, on the site
    assert any(f.host == "localhost" and f.kind == "request" for f in result.findings)
    assert elsewhere.hits == []


def test_a_service_workers_fetch_into_the_network_is_blocked(site, elsewhere):
    site.files["/worker.js"] = ("application/javascript",
                                f"fetch('http://{_inside(elsewhere)}/from-worker').catch(() => fetch('/worker-tried'));")
    site.pages["/"] = "<html><body><script>navigator.serviceWorker.register('/worker.js')</script></body></html>"
    _scan_as_public(site)
    assert "/worker.js" in site.hits and "/worker-tried" in site.hits  # the worker ran and its fetch failed
    assert elsewhere.hits == []


def test_a_websocket_into_the_network_is_blocked(site, elsewhere):
    site.pages["/"] = (f"<html><body><script>const ws = new WebSocket('ws://{_inside(elsewhere)}/socket');"
                       "ws.onerror = () => fetch('/socket-failed');</script></body></html>")
    _scan_as_public(site)
    assert "/socket-failed" in site.hits
    assert elsewhere.hits == []


def test_webrtc_sends_nothing_into_the_network(site):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stun:
        stun.bind(("127.0.0.1", 0))
        stun.settimeout(0.5)
        site.pages["/"] = (
            "<html><body><script>const peer = new RTCPeerConnection({iceServers: "
            f"[{{urls: 'stun:127.0.0.1:{stun.getsockname()[1]}'}}]}});"
            "peer.createDataChannel('x'); peer.createOffer().then(offer => peer.setLocalDescription(offer));"
            "</script></body></html>")
        _scan_as_public(site)
        with pytest.raises(TimeoutError):
            stun.recvfrom(2048)
