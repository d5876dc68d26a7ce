"""Prometheus metrics: every listener counts its requests, the internal one exposes them."""

from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from prometheus_client import Counter, Gauge, Histogram

EVENTS_ACCEPTED = Counter("sluice_events_accepted_total", "Events acknowledged to browsers (durable in the spool).")
EVENTS_REJECTED = Counter("sluice_events_rejected_total", "Events refused, by reason.", ["reason"])
EVENTS_STORED = Counter("sluice_events_stored_total", "Events inserted into the warehouse.")
SPOOL_SEGMENTS = Gauge("sluice_spool_segments", "Closed spool segments waiting for the warehouse.")
SPOOL_BYTES = Gauge("sluice_spool_bytes", "Bytes held in the spool.")
BATCH_SECONDS = Histogram("sluice_batch_insert_seconds", "Time to insert one spool segment into the warehouse.")
WAREHOUSE_ERRORS = Counter("sluice_warehouse_errors_total", "Warehouse inserts that failed and will be retried.")


def request_metrics(listener: str) -> PrometheusConfig:
    """Per-route request counts and latencies, labelled with the listener they arrived on."""
    return PrometheusConfig(app_name=listener, prefix="sluice", group_path=True, exclude_unhandled_paths=True)


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False
