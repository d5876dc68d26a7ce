"""Prometheus metrics on the internal listener: its own request counts, and every counter of the process."""

from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

from api.audit import not_audited
from api.auth import public

_COUNTERS = "counters and latencies of this process, for monitoring on this host; no data of the warehouse"


def request_metrics(listener: str) -> PrometheusConfig:
    """Per-route request counts and latencies, labelled with the listener they arrived on."""
    return PrometheusConfig(app_name=listener, prefix="sluice", group_path=True, exclude_unhandled_paths=True)


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False
    opt = not_audited(_COUNTERS) | public(_COUNTERS)
