"""HTTPS with the organisation's certificates: both listeners and the dashboard serve TLS 1.2 or later with the
configured files, the dashboard sends HSTS and secure cookies, the internal listener can require client
certificates, this machine's own clients still reach it, and SIGHUP serves a renewed certificate."""

import signal
import socket
import ssl
import subprocess
import threading
import time
import warnings
from pathlib import Path

import httpx
import pytest
import trustme

from dashboard.client import Api, pinned
from sluice import dashboard
from sluice.config import check
from sluice.tls import TlsSettings
from tests.conftest import unused_port
from tests.sluice.processes import SLUICE, env


class Issued:
    """A certificate and key issued by `ca`, written where the config names them."""

    def __init__(self, ca: trustme.CA, directory: Path, name: str, *identities: str) -> None:
        issued = ca.issue_cert(*identities)
        self.cert, self.key = directory / f"{name}.crt", directory / f"{name}.key"
        self.cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
        issued.private_key_pem.write_to_path(str(self.key))
        self.der = ssl.PEM_cert_to_DER_cert(issued.cert_chain_pems[0].bytes().decode())


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


def _trusting(ca: trustme.CA, presenting: "Issued | None" = None) -> ssl.SSLContext:
    """A client's TLS: trusting `ca`, and presenting a client certificate if given one."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    if presenting:
        context.load_cert_chain(presenting.cert, presenting.key)
    return context


def _config(tmp_path: Path, ports: dict[str, int], tls: str) -> Path:
    config = tmp_path / "sluice.toml"
    config.write_text(f"""
[server]
host = "127.0.0.1"
public_port = {ports["public"]}
internal_port = {ports["internal"]}
[server.tls]
{tls}
""")
    return config


def _start(command: str, config: Path, tmp_path: Path, *more: str) -> subprocess.Popen:
    return subprocess.Popen([*SLUICE, command, "--config", str(config), "--data-dir", str(tmp_path / "data"), *more],
                            env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait(url: str, verify: ssl.SSLContext, process: subprocess.Popen) -> httpx.Response:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        try:
            return httpx.get(url, verify=verify, timeout=5)
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError(f"{url} never answered")


def _stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return err


def _served_certificate(port: int) -> bytes:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, context.wrap_socket(raw) as tls:
        return tls.getpeercert(binary_form=True)


def _old_tls(context: ssl.SSLContext) -> ssl.SSLContext:
    """`context` speaking TLS 1.0 and 1.1 (and weak ciphers), as an outdated client or server would."""
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings(category=DeprecationWarning, action="ignore"):
        context.minimum_version = ssl.TLSVersion.TLSv1
    return context


def _handshake_with_tls_1_1(port: int) -> str:
    context = _old_tls(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with warnings.catch_warnings(category=DeprecationWarning, action="ignore"):
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, context.wrap_socket(raw) as tls:
        return tls.version()


def test_the_outdated_client_of_these_tests_does_speak_tls_1_1(ca):
    """The control for the refusals below: a server that still allows TLS 1.1 gets a TLS 1.1 handshake."""
    server = _old_tls(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    ca.issue_cert("127.0.0.1").configure_cert(server)
    with socket.create_server(("127.0.0.1", 0)) as listening:
        accepted = threading.Thread(target=lambda: server.wrap_socket(listening.accept()[0], server_side=True).close())
        accepted.start()
        assert _handshake_with_tls_1_1(listening.getsockname()[1]) == "TLSv1.1"
        accepted.join(timeout=10)


def test_both_listeners_and_the_dashboard_serve_https_and_a_sighup_serves_a_renewed_certificate(ca, tmp_path):
    ports = {"public": unused_port(), "internal": unused_port(), "dashboard": unused_port()}
    first = Issued(ca, tmp_path, "host", "127.0.0.1", "localhost")
    config = _config(tmp_path, ports, f'cert = "{first.cert}"\nkey = "{first.key}"')
    trusted = _trusting(ca)
    process = _start("up", config, tmp_path, "--dashboard-port", str(ports["dashboard"]))
    try:
        internal = f"https://127.0.0.1:{ports['internal']}"
        assert _wait(f"{internal}/healthz", trusted, process).json() == {"status": "ok", "warehouse": "ok"}
        assert httpx.get(f"https://127.0.0.1:{ports['public']}/healthz", verify=trusted).status_code == 200
        page = _wait(f"https://127.0.0.1:{ports['dashboard']}/", trusted, process)
        assert page.status_code == 200 and page.headers["strict-transport-security"] == "max-age=31536000"
        cookie = httpx.get(f"https://127.0.0.1:{ports['dashboard']}/_stcore/health", verify=trusted).headers["set-cookie"]
        assert cookie.startswith("_streamlit_xsrf=") and "; Secure" in cookie
        for port in ports.values():
            with pytest.raises(httpx.TransportError):
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)  # plain HTTP is not served
            with pytest.raises(ssl.SSLError):
                _handshake_with_tls_1_1(port)
        # This machine's clients trust the listener's own certificate: a command, and the dashboard's client.
        listed = subprocess.run([*SLUICE, "user", "list", "--config", str(config), "--data-dir", str(tmp_path / "data")],
                                capture_output=True, text=True, env=env(), timeout=120)
        assert listed.returncode == 0, listed.stderr
        seen = dashboard.environment(internal, b"k" * 32, TlsSettings(cert=str(first.cert), key=str(first.key)))
        with pytest.MonkeyPatch.context() as patch:
            for name, value in seen.items():
                patch.setenv(name, value)
            assert Api().get("/healthz")["status"] == "ok"

        with pytest.MonkeyPatch.context() as patch:  # a client as a dashboard session holds it across a renewal
            for name, value in seen.items():
                patch.setenv(name, value)
            dashboards_client = Api()
            assert dashboards_client.get("/healthz")["status"] == "ok"
        renewed = Issued(ca, tmp_path, "host", "127.0.0.1", "localhost")  # the same files, a new certificate
        assert {_served_certificate(port) for port in ports.values()} == {first.der}
        process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while {_served_certificate(port) for port in ports.values()} != {renewed.der}:
            assert time.monotonic() < deadline, "a listener still serves the certificate it started with"
            time.sleep(0.3)
        assert httpx.get(f"{internal}/healthz", verify=trusted).status_code == 200
        assert dashboards_client.get("/healthz")["status"] == "ok"  # it trusts the renewed certificate
    finally:
        if process.poll() is None:
            err = _stop(process)
    assert "certificate reloaded" in err


def test_the_internal_listener_asks_for_a_client_certificate_from_the_configured_ca(ca, tmp_path):
    ports = {"public": unused_port(), "internal": unused_port()}
    host, client = Issued(ca, tmp_path, "host", "127.0.0.1"), Issued(ca, tmp_path, "client", "sluice-ops")
    stranger = Issued(trustme.CA(), tmp_path, "stranger", "sluice-ops")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.crt"))
    config = _config(tmp_path, ports, f'cert = "{host.cert}"\nkey = "{host.key}"\nclient_ca = "{tmp_path / "ca.crt"}"\n'
                                      f'client_cert = "{client.cert}"\nclient_key = "{client.key}"')
    trusted, internal = _trusting(ca), f"https://127.0.0.1:{ports['internal']}/healthz"
    process = _start("serve", config, tmp_path)
    try:
        assert _wait(f"https://127.0.0.1:{ports['public']}/healthz", trusted, process).status_code == 200  # not asked
        assert _wait(internal, _trusting(ca, client), process).status_code == 200
        for presented in (None, stranger):
            with pytest.raises(httpx.TransportError):
                httpx.get(internal, verify=_trusting(ca, presented), timeout=5)
        listed = subprocess.run([*SLUICE, "user", "list", "--config", str(config), "--data-dir", str(tmp_path / "data")],
                                capture_output=True, text=True, env=env(), timeout=120)
        assert listed.returncode == 0, listed.stderr  # commands present the configured client certificate
    finally:
        if process.poll() is None:
            _stop(process)


@pytest.mark.parametrize(("tls", "says"), [
    ({"cert": "{cert}"}, "cert and key go together"),
    ({"cert": "{cert}", "key": "/nonexistent/host.key"}, "key: no readable file at /nonexistent/host.key"),
    ({"cert": "{other}", "key": "{key}"}, "cert and key cannot be used together"),
    ({"cert": "{cert}", "key": "{key}", "client_ca": "{cert}"}, "client_ca needs client_cert and client_key"),
])
def test_a_tls_setting_that_cannot_work_is_named_by_config_check(ca, tmp_path, tls, says):
    host, other = Issued(ca, tmp_path, "host", "127.0.0.1"), Issued(ca, tmp_path, "other", "127.0.0.1")
    files = {"cert": host.cert, "key": host.key, "other": other.cert}
    problems = check({"server": {"tls": {k: v.format(**files) for k, v in tls.items()}}})
    assert [p.path for p in problems] == ["server.tls"] and says in problems[0].message, problems


def test_this_machines_clients_trust_the_listeners_own_certificate_and_not_the_ca_after_it_in_the_file(tmp_path):
    """The certificate file holds the chain up to the organisation's CA: another certificate of that CA, for
    another host, is not taken for the listener's."""
    intermediate = trustme.CA().create_child_ca()
    own, other = Issued(intermediate, tmp_path, "own", "127.0.0.1"), Issued(intermediate, tmp_path, "other", "127.0.0.1")
    assert own.cert.read_text().count("BEGIN CERTIFICATE") == 2  # the leaf, then the intermediate
    for served, accepted in ((own, True), (other, False)):
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(served.cert, served.key)
        with socket.create_server(("127.0.0.1", 0)) as listening:
            threading.Thread(target=_accept_once, args=(server, listening), daemon=True).start()
            with socket.create_connection(listening.getsockname(), timeout=5) as raw:
                if accepted:
                    pinned(str(own.cert)).wrap_socket(raw).close()
                else:
                    with pytest.raises(ssl.SSLCertVerificationError):
                        pinned(str(own.cert)).wrap_socket(raw)


def _accept_once(server: ssl.SSLContext, listening: socket.socket) -> None:
    connection, _ = listening.accept()
    try:
        server.wrap_socket(connection, server_side=True).close()
    except (ssl.SSLError, OSError):
        connection.close()
