"""HTTPS with the organisation's own certificate, for both listeners, and how this machine's clients reach them.

Every listener speaks TLS 1.2 or later. SIGHUP loads the certificate and key again, so that a renewed
certificate is served without a restart; connections already open keep the one they began with.
"""

import logging
import signal
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec
import uvicorn

log = logging.getLogger("sluice.tls")


class TlsSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """`[server.tls]`: PEM files, read by the service account."""

    cert: str = ""
    """The certificate, with its chain up to the organisation's CA; empty: plain HTTP."""
    key: str = ""
    client_ca: str = ""
    """The internal listener then asks every client for a certificate signed by this CA."""
    client_cert: str = ""
    """With `client_ca`: what this machine's own clients of the internal listener (the dashboard that
    `sluice up` starts, `sluice` commands) present."""
    client_key: str = ""

    def __post_init__(self) -> None:
        if bool(self.cert) != bool(self.key):
            raise ValueError("cert and key go together: name both files, or neither for plain HTTP")
        if self.client_ca and not self.cert:
            raise ValueError("client_ca needs cert and key: client certificates are asked for over TLS only")
        if self.client_ca and not (self.client_cert and self.client_key):
            raise ValueError("client_ca needs client_cert and client_key, for the dashboard and sluice commands")
        for name in ("cert", "key", "client_ca", "client_cert", "client_key"):
            path = getattr(self, name)
            if path and not Path(path).is_file():
                raise ValueError(f"{name}: no readable file at {path}")
        if self.cert:
            _check_pair(self.cert, self.key, "cert and key")
        if self.client_cert:
            _check_pair(self.client_cert, self.client_key, "client_cert and client_key")

    @property
    def enabled(self) -> bool:
        return bool(self.cert)


def _check_pair(cert: str, key: str, names: str) -> None:
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        raise ValueError(f"{names} cannot be used together: {exc.reason or exc}") from None


class Certificates:
    """The TLS contexts this process serves with, each loaded again from its files on `reload`."""

    def __init__(self, tls: TlsSettings) -> None:
        self._tls = tls
        self._contexts: list[ssl.SSLContext] = []

    def secure(self, config: uvicorn.Config, *, verify_clients: bool = False) -> None:
        """Make `config` serve HTTPS (TLS 1.2 or later), asking clients for a certificate with `verify_clients`
        where a client CA is configured."""
        if not self._tls.enabled:
            return
        config.ssl_certfile, config.ssl_keyfile = self._tls.cert, self._tls.key
        if verify_clients and self._tls.client_ca:
            config.ssl_ca_certs, config.ssl_cert_reqs = self._tls.client_ca, ssl.CERT_REQUIRED
        config.load()
        config.ssl.minimum_version = ssl.TLSVersion.TLSv1_2
        self._contexts.append(config.ssl)

    def reload(self) -> None:
        """Serve the certificate and key now in the files; keep the current ones if the files do not load."""
        if not self._contexts:
            return
        try:
            _check_pair(self._tls.cert, self._tls.key, "cert and key")
        except (ValueError, OSError) as exc:
            log.error("certificate not reloaded; still serving the one loaded before", extra={"reason": str(exc)})
            return
        for context in self._contexts:
            context.load_cert_chain(self._tls.cert, self._tls.key)
            if context.verify_mode == ssl.CERT_REQUIRED:
                context.load_verify_locations(self._tls.client_ca)
        log.info("certificate reloaded", extra={"cert": self._tls.cert})


@contextmanager
def sighup_held() -> Iterator[None]:
    """Processes started inside this begin with SIGHUP held (a blocked signal stays blocked across exec) until
    they can reload, so that a reload during their start does not end them."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def reload_on_sighup(certificates: Certificates) -> None:
    """In a process started inside `sighup_held`: reload on SIGHUP from now on, a held one first."""
    signal.signal(signal.SIGHUP, lambda *_: certificates.reload())
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})
