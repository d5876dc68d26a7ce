"""The dynamic mode's proxy lets a page reach public addresses only, or the site's own internal hosts."""

import socket

import httpx
import pytest

from scanner.crawl import Scope
from scanner.proxy import FilteringProxy

PUBLIC = "93.184.215.14"


def _public_site(site):
    """A scope in which the fixture site counts as public: its host resolves to a public address."""
    return Scope([site.url + "/"], resolver=lambda host: {PUBLIC} if host == "127.0.0.1" else {"127.0.0.1"})


def _port(server) -> int:
    return int(server.url.rsplit(":", 1)[1])


def test_plain_http_to_an_allowed_host_is_forwarded_and_to_the_network_refused(site, elsewhere):
    with FilteringProxy(_public_site(site)) as url, httpx.Client(proxy=url, timeout=5) as http:
        assert http.get(site.url + "/services?x=1").status_code == 200
        refused = http.get(f"http://localhost:{_port(elsewhere)}/pixel")
    assert refused.status_code == 403 and "refused" in refused.text
    assert site.hits == ["/services"] and elsewhere.hits == []


def test_a_tunnel_into_the_network_is_refused_before_any_connection(site, elsewhere):
    proxy = FilteringProxy(_public_site(site))
    with proxy as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(f"CONNECT localhost:{_port(elsewhere)} HTTP/1.1\r\nhost: localhost\r\n\r\n".encode())
            answer = conn.recv(1024)
    assert answer.startswith(b"HTTP/1.1 403")
    assert proxy.refused == [f"localhost:{_port(elsewhere)}"]


def test_a_tunnel_to_an_allowed_host_carries_bytes_both_ways(site):
    with FilteringProxy(_public_site(site)) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(f"CONNECT 127.0.0.1:{_port(site)} HTTP/1.1\r\n\r\n".encode())
            assert conn.recv(1024).startswith(b"HTTP/1.1 200")
            conn.sendall(b"GET /services HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            reply = b""
            while chunk := conn.recv(65536):
                reply += chunk
    assert reply.startswith(b"HTTP/1.0 200") and b"gtag(" in reply


@pytest.mark.parametrize("head", [
    b"GET /relative HTTP/1.1\r\n\r\n",            # not a proxy request
    b"GET ftp://example.org/ HTTP/1.1\r\n\r\n",   # not http
    b"CONNECT example.org HTTP/1.1\r\n\r\n",      # no port
    b"GET http://[::1/ HTTP/1.1\r\n\r\n",         # no URL at all
])
def test_a_request_it_cannot_read_is_refused(site, head):
    with FilteringProxy(_public_site(site)) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(head)
            answer = conn.recv(1024)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 403")
    assert site.hits == []


def test_leaving_closes_every_tunnel_still_open(site):
    tunnels = []
    with FilteringProxy(_public_site(site)) as url:
        for _ in range(3):
            conn = socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=5)
            conn.sendall(f"CONNECT 127.0.0.1:{_port(site)} HTTP/1.1\r\n\r\n".encode())
            assert conn.recv(1024).startswith(b"HTTP/1.1 200")
            tunnels.append(conn)
    assert [conn.recv(1) for conn in tunnels] == [b""] * 3  # each closed by the proxy, none left to the collector
    for conn in tunnels:
        conn.close()
