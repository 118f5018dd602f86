"""Two threads that run beside the retention job: a steady ingest load, and a watch on how long
the ingester's sessions wait for locks."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from register.platform import db
from register.platform.config import Settings
from tests.benchmarks.ingest.harness import IngesterProcess
from tests.benchmarks.ingest.ingest_bench import CHUNK, messages
from tests.benchmarks.ingest.loadgen import LoadPublisher
from tests.benchmarks.retention import queries

STORED = "lamplighter_ingest_readings_stored_total"
# Messages published but not yet stored, at most: enough to keep the ingester busy, never a
# backlog that would go on being stored after the load stops.
BACKLOG = 20 * CHUNK


@dataclass
class IngestLoad:
    """Publishes to the ingester as fast as it stores, from a thread, until stopped."""

    publisher: LoadPublisher
    ingester: IngesterProcess
    prefix: str
    devices: list[str]
    sent: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> IngestLoad:
        self._stop.clear()
        self._thread = threading.Thread(target=self._publish, name="ingest-load", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def stored(self) -> float:
        """Readings the ingester has stored so far."""
        return self.ingester.metric(STORED)

    def _publish(self) -> None:
        while not self._stop.is_set():
            if self.sent - self.stored() / 4 > BACKLOG:
                time.sleep(0.005)
                continue
            self.publisher.publish(messages(self.prefix, self.devices, CHUNK, self.sent))
            self.sent += CHUNK

    def wait_drained(self, timeout: float = 120) -> None:
        """Wait until everything sent was stored."""
        deadline = time.monotonic() + timeout
        while self.stored() < self.sent * 4 and time.monotonic() < deadline:
            time.sleep(0.05)


@dataclass
class LockWatch:
    """Samples pg_locks every `period` seconds; the longest wait seen, and on what.

    A waiting lock's `waitstart` says when its wait began, so each sample knows how long the
    session has waited so far: the figure is exact to within one period (a wait that ends
    between two samples is seen up to its last sample), and waits shorter than a period may
    be missed altogether.
    """

    settings: Settings
    excluded: list[int]
    period: float = 0.005
    longest: float = 0.0
    on: str = ""
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> LockWatch:
        self._thread = threading.Thread(target=self._watch, name="lock-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _watch(self) -> None:
        with db.connect(self.settings, autocommit=True) as conn:
            excluded = [*self.excluded, conn.info.backend_pid]
            while not self._stop.is_set():
                for _, waited, what in queries.list_lock_waits(conn, excluded):
                    if waited > self.longest:
                        self.longest, self.on = waited, what
                self.samples += 1
                time.sleep(self.period)
