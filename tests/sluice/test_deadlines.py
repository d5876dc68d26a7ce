"""The public listener cuts off clients whose headers or body come too slowly, and serves others meanwhile."""

import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import unused_port
from tests.sluice.processes import SLUICE, env, wait_until_up

HEADERS, BODY, IDLE = 1.0, 2.0, 1.0
SLACK = 3.0
"""How much later than its deadline a cut may come on a busy two-core machine."""


@pytest.fixture(scope="module")
def public(tmp_path_factory) -> Iterator[tuple[str, int]]:
    """`sluice serve` with one public worker and short deadlines; yields the public listener's address."""
    root = tmp_path_factory.mktemp("deadlines")
    config = root / "sluice.toml"
    config.write_text(f"[server]\npublic_workers = 1\n[server.limits]\nheader_seconds = {HEADERS}\n"
                      f"body_seconds = {BODY}\nkeepalive_seconds = {IDLE}\n")
    port, internal = unused_port(), unused_port()
    process = subprocess.Popen([*SLUICE, "serve", "--config", str(config), "--data-dir", str(root / "data"),
                                "--host", "127.0.0.1", "--public-port", str(port), "--internal-port", str(internal)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env())
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(timeout=30)


def _connect(address: tuple[str, int], sent: bytes) -> socket.socket:
    sock = socket.create_connection(address, timeout=BODY + HEADERS + SLACK * 2)
    sock.sendall(sent)
    return sock


def _until_closed(sock: socket.socket) -> tuple[float, bytes]:
    """Seconds until the server closes the connection, and what it said before."""
    start, answer = time.monotonic(), b""
    while chunk := sock.recv(4096):
        answer += chunk
    return time.monotonic() - start, answer


def test_a_client_that_never_finishes_its_headers_is_cut_off_while_others_are_served(public):
    slow = _connect(public, b"POST /collect HTTP/1.1\r\nhost: example\r\ncontent-type: text/plain\r\n")
    served = httpx.get(f"http://{public[0]}:{public[1]}/healthz", timeout=5)
    waited, answer = _until_closed(slow)
    assert served.status_code == 200
    assert HEADERS - 0.3 < waited < HEADERS + SLACK and answer.startswith(b"HTTP/1.1 408")


def test_a_client_that_never_finishes_its_body_is_cut_off(public):
    slow = _connect(public, b"POST /collect?site=default HTTP/1.1\r\nhost: example\r\ncontent-type: text/plain\r\n"
                            b"content-length: 1000\r\n\r\n[{\"name\":")
    waited, answer = _until_closed(slow)
    assert BODY - 0.3 < waited < BODY + SLACK and answer.startswith(b"HTTP/1.1 408")


def test_hundreds_of_slow_clients_at_once_do_not_stop_the_listener(public):
    held = [_connect(public, b"GET /healthz HTTP/1.1\r\n") for _ in range(300)]
    try:
        assert httpx.get(f"http://{public[0]}:{public[1]}/healthz", timeout=5).status_code == 200
        waited = max(_until_closed(sock)[0] for sock in held)
        assert waited < HEADERS + SLACK
    finally:
        for sock in held:
            sock.close()


def test_an_idle_kept_alive_connection_is_closed(public):
    sock = _connect(public, b"GET /healthz HTTP/1.1\r\nhost: example\r\n\r\n")
    waited, answer = _until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200") and IDLE - 0.3 < waited < IDLE + SLACK
