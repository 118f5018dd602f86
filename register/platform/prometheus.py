"""What every process's counters for Prometheus share: a registry of their own (so that several
can live in one process, as in the tests), served over HTTP, and read back by name."""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server

log = logging.getLogger(__name__)


class Counters:
    """A base for a process's counters: subclasses declare theirs on `self.registry`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()

    def serve(self, host: str, port: int) -> Any:
        """Expose /metrics over HTTP; returns the server, which the caller shuts down."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        log.info("metrics for Prometheus on http://%s:%d/metrics", host, port)
        return server

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        """The current value of one sample (0 when it has not been counted yet)."""
        return self.registry.get_sample_value(name, labels or {}) or 0.0
