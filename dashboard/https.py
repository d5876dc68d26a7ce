"""The dashboard over HTTPS: TLS 1.2 or later, HSTS on every response, the certificate loaded again on SIGHUP.

Streamlit serves with uvicorn and is given only the certificate's files (`server.sslCertFile`, `sslKeyFile`;
its XSRF cookie is then `Secure`); this adds what it leaves out, around its calls into uvicorn.
"""

import logging
import signal
import ssl

import uvicorn.config
from streamlit import config
from streamlit.web.server.starlette import starlette_server

log = logging.getLogger("sluice.dashboard")
HSTS = ("strict-transport-security", "max-age=31536000")
"""A year: browsers that once reached the dashboard over HTTPS never try it over HTTP."""


def secure_streamlit() -> None:
    """Harden Streamlit's HTTPS, where it serves over HTTPS; a SIGHUP without it changes nothing."""
    # `sluice up` passes its SIGHUP on, certificates or not; it starts this process with SIGHUP held until here.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})
    made, configured = uvicorn.config.create_ssl_context, starlette_server._get_uvicorn_config_kwargs

    def create(*args, **kwargs) -> ssl.SSLContext:
        context = made(*args, **kwargs)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        signal.signal(signal.SIGHUP, lambda *_: _reload(context))
        return context

    def with_hsts() -> dict:
        settings = configured()
        if settings.get("ssl_certfile"):
            settings["headers"] = [*settings.get("headers", []), HSTS]
        return settings

    uvicorn.config.create_ssl_context = create
    starlette_server._get_uvicorn_config_kwargs = with_hsts


def _reload(context: ssl.SSLContext) -> None:
    cert, key = config.get_option("server.sslCertFile"), config.get_option("server.sslKeyFile")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        log.error("certificate not reloaded; still serving the one loaded before: %s", exc)
        return
    context.load_cert_chain(cert, key)
    log.info("certificate reloaded")
