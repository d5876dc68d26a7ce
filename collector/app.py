"""The public listener as a Litestar app: only what browsers need."""

from litestar import Litestar
from litestar.datastructures import State

from collector.collect import (
    MAX_BODY_BYTES, Collector, collect_endpoint, csp_report, preflight, read_consent, record_consent,
)
from collector.health import public_health
from collector.settings import CollectorSettings, Site
from collector.snippet import banner, snippet
from collector.spool import Spools


def public_app(settings: CollectorSettings, sites: list[Site], spools: Spools, consent_key: bytes) -> Litestar:
    """Only what browsers need is routable here; `consent_key` signs consent cookies (the same on every worker)."""
    return Litestar(
        route_handlers=[preflight, public_health, snippet, banner, collect_endpoint, record_consent, read_consent, csp_report],
        state=State({"collector": Collector(settings, sites, spools, consent_key)}),
        lifespan=[lambda app: spools.running()],
        # No per-request metrics middleware here: it costs a sixth of a /collect request, and the
        # event counters say what matters about this listener.
        openapi_config=None,
        logging_config=None,
        request_max_body_size=MAX_BODY_BYTES,
    )
