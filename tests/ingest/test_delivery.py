"""Nothing is lost and nothing is stored twice: crashes, a database outage, graceful stops and
two ingesters sharing the load.

These tests run `lamplighter ingest` as real child processes and watch them from outside,
through their metrics endpoint and the database, the way an operator would.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest

from ingest.publisher import Publication
from register.platform import config, db
from register.platform.config import Settings
from register.stack.postgres import EmbeddedPostgres
from register.stack.runtime import RunAs, free_port
from tests.benchmarks.ingest.bench_register import METRICS, add_bench_devices
from tests.benchmarks.ingest.harness import IngesterProcess, consecutive_free_ports, write_config
from tests.benchmarks.ingest.loadgen import LoadPublisher
from tests.conftest import make_stack_dir, write_stack_config
from tests.ingest.conftest import count, wait_until

READINGS_PER_MESSAGE = len(METRICS)
RSS_LIMIT_MIB = 250


def load_messages(prefix: str, devices: list[str], total: int) -> list[Publication]:
    """`total` native messages whose readings are all distinct: device n % K, second n // K."""
    base = int(time.time()) - 86_400
    return [
        Publication(
            topic=f"{prefix}/bench/{devices[n % len(devices)]}/up",
            payload=orjson.dumps({"time": base + n // len(devices),
                                  "readings": {key: n + i / 10 for i, key in enumerate(METRICS)}}),
        )
        for n in range(total)
    ]  # fmt: skip


class PacedPublisher(threading.Thread):
    """Publish messages at about `rate` per second on a thread, so a test can act mid-publish.

    With `hold_after`, it stops after that many messages until `resume` is set, so a test's
    action comes in the middle of the publish however slow or busy the machine is.
    """

    def __init__(
        self,
        settings: Settings,
        messages: list[Publication],
        rate: float,
        hold_after: int | None = None,
    ):
        super().__init__(daemon=True)
        self.settings, self.messages, self.rate = settings, messages, rate
        self.hold_after = hold_after
        self.error: BaseException | None = None
        self.finished = threading.Event()
        self.resume = threading.Event()

    def run(self) -> None:
        url = urlsplit(self.settings.mqtt_url)
        chunk = max(1, int(self.rate / 20))
        try:
            with LoadPublisher(url.hostname or "", url.port or 1883, f"paced-{id(self)}") as pub:
                started = time.monotonic()
                for n, start in enumerate(range(0, len(self.messages), chunk)):
                    if self.hold_after is not None and start >= self.hold_after:
                        if not self.resume.wait(120):
                            raise RuntimeError("the test never resumed the publisher")
                        self.hold_after, started = None, time.monotonic() - n * chunk / self.rate
                    pub.publish(self.messages[start : start + chunk])
                    time.sleep(max(0.0, started + (n + 1) * chunk / self.rate - time.monotonic()))
                if not pub.wait_acked(120):
                    raise RuntimeError("the broker did not acknowledge every message")
        except BaseException as error:  # reported by the test that joins this thread
            self.error = error
        finally:
            self.finished.set()

    def join_and_check(self, timeout: float = 180) -> None:
        self.join(timeout)
        if self.error is not None:
            raise self.error
        assert self.finished.is_set(), "the publisher did not finish"


@pytest.fixture
def scratch() -> Iterator[Path]:
    directory = make_stack_dir("lamplighter-ingest-")
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def load_register(settings: Settings, device_count: int) -> list[str]:
    """Add `device_count` bench devices, migrating first (a no-op on `migrated_settings`; the
    outage test's own PostgreSQL starts empty); their public ids."""
    with db.connect(settings) as conn:
        db.upgrade(conn)
        return add_bench_devices(conn, device_count)


def ingester_config(directory: Path, settings: Settings, prefix: str, **ingest: Any) -> Path:
    return write_config(
        directory / f"ingest-{prefix}.toml",
        {
            "database": {"url": settings.database_url},
            "mqtt": {"url": settings.mqtt_url, "session_expiry": 300, "shared_group": "",
                     **ingest.pop("mqtt", {})},
            "ingest": {"batch_wait": 0.05, "retry_max_backoff": 2.0, **ingest},
        },
        [{"name": "load", "format": "native", "topics": [f"{prefix}/+/+/up"]}],
    )  # fmt: skip


def stored_readings(settings: Settings) -> int:
    return count(settings, "SELECT count(*) FROM readings")


def distinct_readings(settings: Settings) -> int:
    return count(settings, "SELECT count(DISTINCT (device_id, metric_id, time)) FROM readings")


def interrupt_mid_publish(
    settings: Settings, scratch: Path, prefix: str, total: int, interrupt: Callable[..., Any]
) -> tuple[PacedPublisher, int]:
    """Start an ingester and a publish of `total` messages; once a fifth of the readings are
    stored, and while the publish goes on, `interrupt(ingester)`. The publisher and the number
    of readings stored by then.

    The publisher holds after half the messages until the interruption, so that the other half
    is still to come however slow the ingester is on a busy machine.
    """
    devices = load_register(settings, 200)
    config_file = ingester_config(scratch, settings, prefix)
    first = IngesterProcess(config_file, free_port(), prefix, scratch / "first.log").start()
    publisher = PacedPublisher(
        settings, load_messages(prefix, devices, total), 10_000, hold_after=total // 2
    )
    try:
        first.wait_subscribed()
        publisher.start()
        expected = total * READINGS_PER_MESSAGE
        wait_until(lambda: stored_readings(settings) >= expected // 5, timeout=60,
                   what="a fifth of the readings")  # fmt: skip
        assert not publisher.finished.is_set(), "the interruption must come in the middle"
        interrupt(first)
    except BaseException:
        first.stop()
        raise
    finally:
        publisher.resume.set()
    return publisher, stored_readings(settings)


def restart_and_drain(
    settings: Settings, scratch: Path, prefix: str, publisher: PacedPublisher, expected: int
) -> IngesterProcess:
    """Start the ingester again (the same client id, so the same session) and wait until every
    reading is stored and nothing more is waiting; the running ingester."""
    config_file = scratch / f"ingest-{prefix}.toml"
    second = IngesterProcess(config_file, free_port(), prefix, scratch / "second.log").start()
    publisher.join_and_check()
    wait_until(lambda: stored_readings(settings) >= expected, timeout=120, what="every reading")
    wait_until(lambda: second.metric("lamplighter_ingest_queue_messages") == 0)
    # Give any last redelivery time to land before the counts are checked.
    time.sleep(1.0)
    return second


def test_kill_9_mid_publish_then_restart_stores_every_reading_exactly_once(
    migrated_settings: Settings, scratch: Path, prefix: str
) -> None:
    total = 50_000
    expected = total * READINGS_PER_MESSAGE
    publisher, killed_at = interrupt_mid_publish(
        migrated_settings, scratch, prefix, total, IngesterProcess.kill
    )
    second = restart_and_drain(migrated_settings, scratch, prefix, publisher, expected)
    try:
        assert stored_readings(migrated_settings) == expected
        assert distinct_readings(migrated_settings) == expected
        assert count(migrated_settings, "SELECT count(*) FROM quarantine") == 0
    finally:
        second.stop()
    assert 0 < killed_at < expected


def test_sigterm_commits_and_acks_the_current_batch_so_nothing_comes_back(
    migrated_settings: Settings, scratch: Path, prefix: str
) -> None:
    total = 20_000
    expected = total * READINGS_PER_MESSAGE

    def terminate(ingester: IngesterProcess) -> None:
        assert ingester.stop(timeout=30) == 0

    publisher, _ = interrupt_mid_publish(migrated_settings, scratch, prefix, total, terminate)
    log = (scratch / "first.log").read_text()
    assert "received SIGTERM" in log and "stopped" in log
    second = restart_and_drain(migrated_settings, scratch, prefix, publisher, expected)
    try:
        assert stored_readings(migrated_settings) == expected
        # Every batch the first ingester committed, it also acknowledged before leaving: the
        # broker redelivered nothing that had been stored.
        assert second.metric("lamplighter_ingest_readings_duplicate_total") == 0, (
            scratch / "first.log"
        ).read_text() + (scratch / "second.log").read_text()
    finally:
        second.stop()


def share_of_each(
    ingesters: list[IngesterProcess], settings: Settings, messages: list[Publication]
) -> tuple[list[float], float]:
    """Publish to subscribed ingesters in one shared group until all is stored; the messages
    each received, and the duplicates they skipped in all."""
    for ingester in ingesters:
        ingester.wait_subscribed()
    publisher = PacedPublisher(settings, messages, 20_000)
    publisher.start()
    publisher.join_and_check()
    wait_until(lambda: stored_readings(settings) >= len(messages) * READINGS_PER_MESSAGE,
               timeout=120)  # fmt: skip
    received = [i.metric("lamplighter_ingest_messages_total{source=load}") for i in ingesters]
    duplicates = sum(i.metric("lamplighter_ingest_readings_duplicate_total") for i in ingesters)
    return received, duplicates


def test_two_ingesters_in_a_shared_group_store_each_message_once_and_both_work(
    migrated_settings: Settings, scratch: Path, prefix: str
) -> None:
    devices = load_register(migrated_settings, 100)
    total = 20_000
    config_file = ingester_config(scratch, migrated_settings, prefix,
                                     mqtt={"shared_group": f"group-{prefix}"})  # fmt: skip
    ingesters = [
        IngesterProcess(config_file, free_port(), f"scale-{n}-{prefix}", scratch / f"{n}.log")
        for n in (1, 2)
    ]
    for ingester in ingesters:
        ingester.start()
    try:
        received, duplicates = share_of_each(
            ingesters, migrated_settings, load_messages(prefix, devices, total)
        )
    finally:
        for ingester in ingesters:
            ingester.stop()
    assert stored_readings(migrated_settings) == total * READINGS_PER_MESSAGE
    assert sum(received) == total, "each message went to exactly one of the two"
    assert duplicates == 0
    assert min(received) > total * 0.1, f"both must share the work: {received}"


def test_processes_2_store_each_message_once_and_both_work(
    migrated_settings: Settings, scratch: Path, prefix: str
) -> None:
    """`lamplighter ingest --processes 2`: one command, two ingesters in one shared group (named
    after the client id prefix, as none is configured), each with its own metrics port."""
    devices = load_register(migrated_settings, 100)
    total = 10_000
    config_file = ingester_config(scratch, migrated_settings, prefix)
    port = consecutive_free_ports(2)
    command = IngesterProcess(
        config_file, port, f"procs-{prefix}", scratch / "procs.log", options=("--processes", "2")
    ).start()
    # Each child, seen through its own metrics port.
    children = [IngesterProcess(config_file, port + n, "", scratch / "unused.log") for n in (0, 1)]
    try:
        received, duplicates = share_of_each(
            children, migrated_settings, load_messages(prefix, devices, total)
        )
    finally:
        code = command.stop()
    log = (scratch / "procs.log").read_text()
    assert code == 0, log
    assert f"in the shared group 'procs-{prefix}'" in log
    assert stored_readings(migrated_settings) == total * READINGS_PER_MESSAGE
    assert distinct_readings(migrated_settings) == total * READINGS_PER_MESSAGE
    assert sum(received) == total, f"each message went to exactly one of the two: {received}"
    assert duplicates == 0
    assert min(received) > total * 0.1, f"both must share the work: {received}"
    # Stopping the command stopped both: their metrics ports are closed.
    assert [c.metric("lamplighter_ingest_sources_subscribed") for c in children] == [-1.0, -1.0]


@pytest.fixture
def own_postgres(settings: Settings, scratch: Path) -> Iterator[tuple[Settings, EmbeddedPostgres]]:
    """A PostgreSQL of this test's own (so it can be stopped), next to the session's broker."""
    path = write_stack_config(scratch, mqtt_port=settings.services.mqtt_port)
    own = config.load(path, environ={})
    server = EmbeddedPostgres(own)
    run_as = RunAs.for_current_process(own.services.user)
    server.start(run_as)
    try:
        yield own, server
    finally:
        server.stop(run_as)


def test_a_30_s_database_outage_loses_nothing_and_memory_stays_bounded(
    own_postgres: tuple[Settings, EmbeddedPostgres], scratch: Path, prefix: str
) -> None:
    own, server = own_postgres
    run_as = RunAs.for_current_process(own.services.user)
    devices = load_register(own, 100)
    total, queue_limit = 40_000, 2_000
    expected = total * READINGS_PER_MESSAGE
    config_file = ingester_config(scratch, own, prefix, queue_limit=queue_limit)
    ingester = IngesterProcess(config_file, free_port(), f"outage-{prefix}", scratch / "i.log")
    ingester.start()
    try:
        ingester.wait_subscribed()
        publisher = PacedPublisher(own, load_messages(prefix, devices, total), 1_000)
        publisher.start()
        wait_until(lambda: stored_readings(own) > 0, timeout=30)
        server.stop(run_as)
        outage_started = time.monotonic()
        samples = []
        while time.monotonic() - outage_started < 30:
            samples.append(ingester.metric("lamplighter_ingest_queue_messages"))
            time.sleep(0.25)
        assert ingester.process is not None and ingester.process.poll() is None
        server.start(run_as)
        publisher.join_and_check()
        wait_until(lambda: stored_readings(own) >= expected, timeout=120, what="every reading")
        wait_until(lambda: ingester.metric("lamplighter_ingest_queue_messages") == 0)
        samples.append(ingester.metric("lamplighter_ingest_queue_messages"))
        peak_kib = ingester.memory_kib().peak_kib
        failed_batches = ingester.metric("lamplighter_ingest_database_errors_total")
    finally:
        ingester.stop()
    assert stored_readings(own) == expected
    assert distinct_readings(own) == expected
    assert failed_batches > 0, "the outage must have been felt"
    assert max(samples) <= queue_limit, "the backlog never grew past its bound"
    assert max(samples) > queue_limit / 2, "the backlog filled while the database was down"
    assert peak_kib / 1024 < RSS_LIMIT_MIB
    figures = f"backlog peaked at {max(samples):.0f} messages, RSS at {peak_kib / 1024:.0f} MiB"
    print(f"outage: {figures}")  # noqa: T201
