"""Prometheus metrics, one registry per app so tests can build many apps in one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.callbacks = Counter("hesabu_callbacks", "Daraja callbacks received, by kind and outcome",
                                 ["kind", "outcome"], registry=self.registry)
        self.duplicates = Counter("hesabu_callback_duplicates", "Callbacks whose receipt was already stored",
                                  registry=self.registry)
        self.store_seconds = Histogram(
            "hesabu_callback_store_seconds", "Time from receipt to durable storage of a callback",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5), registry=self.registry)
        self.batch_size = Histogram("hesabu_callback_batch_size", "Callbacks committed per transaction",
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256), registry=self.registry)
        self.spool_depth = Gauge("hesabu_spool_depth", "Callbacks waiting in the local spool", registry=self.registry)
        self.spooled = Counter("hesabu_callbacks_spooled", "Callbacks written to the spool because the database failed",
                               registry=self.registry)
        self.deliveries_in_doubt = Counter(
            "hesabu_deliveries_in_doubt", "Chat deliveries that may not have arrived (sender died or provider timed "
            "out): each is sent once more, marked as a repeat", registry=self.registry)
