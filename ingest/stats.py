"""The ingester's counters: exposed for Prometheus, and summarised in the log every minute.

Each ingester keeps its own `CollectorRegistry`, so that several can live in one process
(the tests do this) without their metrics colliding.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram

from register.platform.prometheus import Counters

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.25,
    0.3,
    0.4,
    0.5,
    0.6,
    0.75,
    1.0,
    1.5,
    2.0,
    3.0,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)
BATCH_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000)


class IngestStats(Counters):
    def __init__(self, queue_depth: Callable[[], int]) -> None:
        super().__init__()
        r = self.registry
        self.messages = Counter(
            "lamplighter_ingest_messages", "Messages received.", ["source"], registry=r
        )
        self.stored = Counter("lamplighter_ingest_readings_stored", "Readings stored.", registry=r)
        self.duplicates = Counter(
            "lamplighter_ingest_readings_duplicate",
            "Readings already stored (a message delivered again).",
            registry=r,
        )
        self.not_retained = Counter(
            "lamplighter_ingest_readings_not_retained",
            "Readings of metrics declared 'not retained': used, never stored.",
            registry=r,
        )
        self.rejected = Counter(
            "lamplighter_ingest_readings_rejected",
            "Readings refused, by reason code.",
            ["reason"],
            registry=r,
        )
        self.quarantined = Counter(
            "lamplighter_ingest_quarantine_records",
            "Quarantine records written, by reason code.",
            ["reason"],
            registry=r,
        )
        self.database_errors = Counter(
            "lamplighter_ingest_database_errors",
            "Batches that failed and were retried.",
            registry=r,
        )
        self.batch_messages = Histogram(
            "lamplighter_ingest_batch_messages",
            "Messages per batch.",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.batch_seconds = Histogram(
            "lamplighter_ingest_batch_seconds",
            "Time to write and commit one batch.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.delay = Histogram(
            "lamplighter_ingest_delay_seconds",
            "From a reading's time to its commit (publish-to-commit when devices stamp on send).",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.queue = Gauge(
            "lamplighter_ingest_queue_messages", "Messages waiting to be checked.", registry=r
        )
        self.queue.set_function(lambda: float(queue_depth()))
        self.subscribed = Gauge(
            "lamplighter_ingest_sources_subscribed",
            "Sources connected with their subscriptions granted.",
            registry=r,
        )
        self.devices = Gauge(
            "lamplighter_ingest_register_devices", "Devices in the register cache.", registry=r
        )
        self._last: dict[str, float] = {}

    def total(self, family: str) -> float:
        """The sum of a counter family over all its labels."""
        return sum(
            sample.value
            for metric in self.registry.collect()
            if metric.name == family
            for sample in metric.samples
            if sample.name.endswith("_total")
        )

    def summary(self) -> str:
        """One line: what happened since the last summary."""
        now = {
            "messages": self.total("lamplighter_ingest_messages"),
            "stored": self.value("lamplighter_ingest_readings_stored_total"),
            "duplicates": self.value("lamplighter_ingest_readings_duplicate_total"),
            "quarantined": self.total("lamplighter_ingest_quarantine_records"),
            "errors": self.value("lamplighter_ingest_database_errors_total"),
        }
        delta = {k: int(v - self._last.get(k, 0.0)) for k, v in now.items()}
        self._last = now
        return (
            f"{delta['messages']:,} messages, {delta['stored']:,} readings stored, "
            f"{delta['duplicates']:,} duplicates skipped, {delta['quarantined']:,} quarantine "
            f"records, {delta['errors']:,} failed batches; "
            f"queue {int(self.value('lamplighter_ingest_queue_messages'))}"
        )


class SummaryLogger(threading.Thread):
    """Log `stats.summary()` every `interval` seconds until stopped."""

    def __init__(self, stats: IngestStats, interval: float, stopping: threading.Event):
        super().__init__(name="ingest-summary", daemon=True)
        self.stats, self.interval, self.stopping = stats, interval, stopping

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            log.info("last %.0f s: %s", self.interval, self.stats.summary())
