"""The ingester: sources, backlog, writer and register follower, wired together and stopped
in the right order.

Stopping (SIGTERM or SIGINT) closes the backlog to new messages, lets the writer finish and
commit the batches it has taken from the backlog and send their acks, then disconnects.
Whatever was received but not committed stays unacknowledged, and the broker delivers it again
to the next session.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from ingest.backlog import Backlog
from ingest.messages import Message
from ingest.register_cache import RegisterCache, RegisterFollower
from ingest.sources import ArrivalClock, Source
from ingest.stats import IngestStats, SummaryLogger
from ingest.writer import Writer
from register.platform.config import ConfigError, Settings

log = logging.getLogger(__name__)

STOP_TIMEOUT = 30.0

# How often Python may hand the GIL to another thread (5 ms by default). The writer waits on
# PostgreSQL several times a batch and needs the GIL back after each wait, from a checker busy
# parsing: at 5 ms a handover, that was a quarter of the writer's time (README: Benchmark).
GIL_SWITCH_INTERVAL = 0.0005


class Ingester:
    def __init__(self, settings: Settings, client_id: str | None = None) -> None:
        sources = settings.mqtt.sources
        names = [s.name for s in sources]
        if not sources:
            raise ConfigError("mqtt.sources is empty: there is nothing to ingest")
        if len(set(names)) != len(names) or not all(names):
            raise ConfigError("every [[mqtt.sources]] needs a name of its own")
        self.settings = settings
        self.stopping = threading.Event()
        self.backlog = Backlog(settings.ingest.queue_limit)
        self.cache = RegisterCache()
        self.stats = IngestStats(lambda: len(self.backlog))
        # Each source may have this many messages unacknowledged, so that all of them together
        # never hold more than the backlog's limit.
        receive_maximum = max(1, settings.ingest.queue_limit // len(sources))
        prefix = client_id or settings.mqtt.client_id
        clock = ArrivalClock()
        self.sources = {
            s.name: Source(
                settings,
                s,
                self.backlog,
                client_id_prefix=prefix,
                receive_maximum=receive_maximum,
                count=self.stats.messages.labels(s.name).inc,
                clock=clock,
            )
            for s in sources
        }
        self.stats.subscribed.set_function(
            lambda: float(sum(s.subscribed.is_set() for s in self.sources.values()))
        )
        # Read when scraped: it shows the register loaded even before the first message.
        self.stats.devices.set_function(lambda: float(len(self.cache)))
        self.follower = RegisterFollower(settings, self.cache, self.stopping)
        self.writer_stopping = threading.Event()
        self.writer = Writer(
            settings=settings,
            backlog=self.backlog,
            cache=self.cache,
            formats={s.name: s.format for s in sources},
            ack=self._ack,
            stats=self.stats,
            stopping=self.writer_stopping,
        )
        self.summary = SummaryLogger(self.stats, settings.ingest.log_interval, self.stopping)
        self.metrics_server: Any = None

    def _ack(self, messages: list[Message]) -> None:
        by_source: dict[str, list[Message]] = {}
        for message in messages:
            by_source.setdefault(message.source, []).append(message)
        for name, committed in by_source.items():
            self.sources[name].ack(committed)

    def start(self) -> None:
        ingest = self.settings.ingest
        if ingest.metrics_port:
            self.metrics_server = self.stats.serve(ingest.metrics_host, ingest.metrics_port)
        self.follower.start()
        self.writer.start()
        self.summary.start()
        # Subscribing only after the register is loaded would delay nothing useful: the writer
        # waits for the register before it checks anything, and the broker holds the rest.
        for source in self.sources.values():
            source.start()

    def stop(self) -> None:
        log.info("stopping: finishing the current batch")
        self.backlog.close()
        self.writer_stopping.set()
        self.writer.finished.wait(STOP_TIMEOUT)
        for source in self.sources.values():
            source.stop()
            log.info(
                "%s: %d messages acknowledged, %d stored but left to the broker to send "
                "again (delivered on an earlier connection)",
                source.name,
                source.acked,
                source.stale,
            )
        self.stopping.set()
        self.follower.join(5)
        if self.metrics_server is not None:
            self.metrics_server.shutdown()
            self.metrics_server.server_close()
        log.info("stopped")

    def dead_threads(self) -> list[str]:
        """The threads the ingester cannot do without that have stopped, by name."""
        alive = {
            "the writer": self.writer.is_alive(),
            "the register follower": self.follower.is_alive(),
        }
        for name, source in self.sources.items():
            alive[f"{name}'s network thread"] = source.network_thread_alive()
        return [thread for thread, running in alive.items() if not running]

    def run(self, on_ready: Callable[[], None] | None = None) -> int:
        """Run until SIGTERM or SIGINT (0), or until a worker thread dies (1)."""
        done = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            log.info("received %s", signal.Signals(signum).name)
            done.set()

        previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_INTERVAL)
        failed = False
        try:
            self.start()
            if on_ready is not None:
                on_ready()
            while not done.wait(1.0):
                dead = self.dead_threads()
                if dead:
                    # Crash-only: exit, and let the supervisor start a fresh process, whose
                    # session gets every unacknowledged message again.
                    log.error("%s died; exiting", ", ".join(dead))
                    failed = True
                    break
        finally:
            self.stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            sys.setswitchinterval(switch_interval)
        return 1 if failed else 0
