"""The collector's Prometheus counters, and how the main process adds up those its workers keep."""

from pathlib import Path

import msgspec
from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

EVENTS_ACCEPTED = Counter("sluice_events_accepted_total", "Events acknowledged to browsers (durable in the spool).")
EVENTS_REJECTED = Counter("sluice_events_rejected_total", "Events refused, by reason.", ["reason"])
EVENTS_STORED = Counter("sluice_events_stored_total", "Events inserted into the warehouse.")
SPOOL_SEGMENTS = Gauge("sluice_spool_segments", "Closed spool segments waiting for the warehouse.")
SPOOL_BYTES = Gauge("sluice_spool_bytes", "Bytes held in the spool.")
BATCH_SECONDS = Histogram("sluice_batch_insert_seconds", "Time to insert one spool segment into the warehouse.")
WAREHOUSE_ERRORS = Counter("sluice_warehouse_errors_total", "Warehouse inserts that failed and will be retried.")
CSP_HOSTS_DROPPED = Counter("sluice_csp_hosts_dropped_total",
                            "CSP report violations not filed: their site had named its hosts' quota this hour.")


# Counters that request workers keep in their own processes; the main process adds them up.
CONNECTIONS_CUT = Counter("sluice_connections_cut_total",
                          "Connections closed because a request's headers or body came too slowly, by part.", ["part"])
WORKER_COUNTERS = (EVENTS_ACCEPTED, EVENTS_REJECTED, CSP_HOSTS_DROPPED, CONNECTIONS_CUT)


def write_snapshot(path: Path) -> None:
    """This process's worker counters, written atomically for the main process to add up."""
    samples = [
        [sample.name, sample.labels, sample.value]
        for counter in WORKER_COUNTERS
        for family in counter.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    ]
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(msgspec.json.encode(samples))
    temporary.replace(path)


class WorkerTotals(Collector):
    """Exposes the worker counters as this process's values plus every worker's last snapshot."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def collect(self):
        workers: dict[tuple, float] = {}
        for snapshot in self._directory.glob("*.json"):
            try:
                for name, labels, value in msgspec.json.decode(snapshot.read_bytes()):
                    key = (name, tuple(sorted(labels.items())))
                    workers[key] = workers.get(key, 0.0) + value
            except (OSError, msgspec.DecodeError):
                continue
        for counter in WORKER_COUNTERS:
            for family in counter.collect():
                combined = CounterMetricFamily(family.name, family.documentation, labels=counter._labelnames)
                seen = set()
                for sample in family.samples:
                    if not sample.name.endswith("_total"):
                        continue
                    key = (sample.name, tuple(sorted(sample.labels.items())))
                    seen.add(key)
                    combined.add_metric(list(sample.labels.values()), sample.value + workers.get(key, 0.0))
                for (name, labels), value in workers.items():
                    if name == family.name + "_total" and (name, labels) not in seen:
                        combined.add_metric([v for _, v in labels], value)
                yield combined


def add_up_workers(directory: Path) -> None:
    """Serve the worker counters from `directory`'s snapshots alongside this process's own."""
    for counter in WORKER_COUNTERS:
        REGISTRY.unregister(counter)
    REGISTRY.register(WorkerTotals(directory))
