"""`lamplighter bench retention`: enforce_retention on a large table, next to the database's own
DELETE, and what it costs ingest.

On the local services, in a database of its own (`lamplighter_bench`, recreated each run):
  1. `--devices` (2,000) air-quality devices with four metrics each, kept 1, 7, 30 or 90 days
     or 5 years (mixed on every device), registered before their first reading;
  2. `--rows` (20 million) readings over `--days` (120) generated in the server (INSERT …
     SELECT generate_series), oldest first as ingest writes them; the 5-year metrics were
     fitted half-way through, so the oldest chunks hold only readings that have expired;
  3. the database's ceiling: one plain DELETE of the expired readings in a copy of the chunks
     that are not wholly expired (those batches work on), for every `--copy-every`th device,
     alone, then (on another such copy) while the ingester (a child process) takes as much
     load as it can store;
  4. the first run of enforce_retention under that load: readings and rows/s for each path
     (drop_chunks, batched deletes); ingest's readings/s meanwhile; the longest an ingester
     session waited for a lock;
  5. a second run straight after;
  6. ingest alone, as long as the first run took, for the ratio.
The figures are printed as one table, with the targets beside them; nothing is asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from register.jobs.retention import enforce_retention
from register.platform import db
from register.platform.config import Settings
from register.platform.db import transaction
from register.queries import Conn
from tests.benchmarks.common import BENCH_DATABASE, Figures, fresh_bench_database, local_services
from tests.benchmarks.ingest.bench_register import METRICS, add_bench_devices
from tests.benchmarks.ingest.ingest_bench import _start_ingester
from tests.benchmarks.ingest.loadgen import LoadPublisher
from tests.benchmarks.retention import queries
from tests.benchmarks.retention.watchers import IngestLoad, LockWatch

DAY = 86_400
# The longest retention but one (90 days): chunks older than that hold only expired readings.
SHORTER_RETENTIONS = timedelta(days=90)
TARGET_INGEST_SHARE = 0.8
TARGET_BATCHED_SHARE = 0.5
TARGET_SECOND_RUN_SECONDS = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=20_000_000, help="readings to generate")
    parser.add_argument("--days", type=int, default=120, help="days the readings span")
    parser.add_argument("--devices", type=int, default=2_000, help="devices, 4 metrics each")
    parser.add_argument(
        "--copy-every",
        type=int,
        default=4,
        metavar="N",
        help="the plain DELETE's copy holds every Nth device's readings",
    )
    parser.add_argument(
        "--pause",
        type=float,
        metavar="SHARE",
        help="jobs.retention_pause for this run (default: the setting in force)",
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    with local_services(settings):
        return _run(settings, args)


def _run(settings: Settings, args: argparse.Namespace) -> int:
    mqtt = urlsplit(settings.mqtt_url)
    host, port = mqtt.hostname or "127.0.0.1", mqtt.port or 1883
    name = f"bench-retention-{int(time.time())}"
    print(f"preparing {BENCH_DATABASE} with {args.devices:,} devices …", flush=True)  # noqa: T201
    bench = fresh_bench_database(settings)
    if args.pause is not None:
        jobs = dataclasses.replace(bench.jobs, retention_pause=args.pause)
        bench = dataclasses.replace(bench, jobs=jobs)
    figures = Figures()
    now = datetime.now(UTC)
    with db.connect(bench) as conn:
        devices = add_bench_devices(conn, args.devices)
        with transaction(conn):
            queries.mix_retentions(conn)
            queries.date_registration(conn, now - timedelta(days=args.days + 1))
        _generate(conn, args, now, figures)
    copies = _copy(bench, args, now)
    ceiling_alone = _plain_delete(bench, copies[0], now, figures, "alone")

    with tempfile.TemporaryDirectory(prefix="lamplighter-bench-") as scratch:
        ingester, _ = _start_ingester(bench, Path(scratch), name, host, port, devices=devices)
        try:
            with (
                LoadPublisher(host, port, f"{name}-load") as publisher,
                db.connect(bench) as conn,
            ):
                load = IngestLoad(publisher, ingester, name, devices)
                print("warming the ingester up …", flush=True)  # noqa: T201
                load.start()
                time.sleep(3)
                ceiling = _plain_delete(bench, copies[1], now, figures, "under the ingest load")
                _measure(conn, bench, load, (ceiling_alone, ceiling), figures)
        finally:
            ingester.stop()
    print(  # noqa: T201
        f"\n{args.rows:,} readings over {args.days} days from {args.devices:,} devices"
        f" ({len(METRICS)} metrics each); batches of at most"
        f" {bench.jobs.retention_batch_rows:,} rows, lock_timeout {bench.jobs.lock_timeout:g} s,"
        f" a pause of {bench.jobs.retention_pause:g} x each batch's time after it\n"
    )
    print(figures.table())  # noqa: T201
    return 0


def _generate(conn: Conn, args: argparse.Namespace, now: datetime, figures: Figures) -> None:
    """Generate the readings in the server and VACUUM (ANALYZE) them, as autovacuum would."""
    span, long_span = args.days * DAY, args.days * DAY // 2
    metric_days = args.devices * len(METRICS) * (4 * span + long_span) / 5
    step = max(1, round(metric_days / args.rows))
    print(f"generating about {args.rows:,} readings …", flush=True)  # noqa: T201
    started = time.perf_counter()
    with transaction(conn):
        unchecked = queries.skip_row_triggers(conn)
        rows = queries.generate_readings(conn, now, step=step, span=span, long_span=long_span)
    generated = time.perf_counter() - started
    conn.autocommit = True
    started = time.perf_counter()
    queries.vacuum_analyze(conn, "readings")
    vacuumed = time.perf_counter() - started
    conn.autocommit = False
    figures.add(
        "readings generated (INSERT … SELECT generate_series)",
        f"{rows:,} in {generated:,.0f} s",
        f"= {rows / generated:,.0f} rows/s, one every {step:,} s per metric"
        f"{'; foreign key not checked row by row' if unchecked else ''};"
        f" then VACUUM (ANALYZE) {vacuumed:,.0f} s",
    )


def _copy(bench: Settings, args: argparse.Namespace, now: datetime) -> tuple[str, str]:
    """Two copies of the chunks that are not wholly expired (those batches work on), each of
    every `--copy-every`th device, different ones."""
    since = datetime.combine((now - SHORTER_RETENTIONS).date(), datetime.min.time(), UTC)
    copies = ("readings_copy_alone", "readings_copy_loaded")
    print("copying readings for the plain DELETE …", flush=True)  # noqa: T201
    with db.connect(bench) as conn:
        for first, copy in enumerate(copies):
            with transaction(conn):
                queries.copy_readings(conn, copy, since, args.copy_every, first)
        conn.autocommit = True
        for copy in copies:
            queries.vacuum_analyze(conn, copy)
    return copies


def _plain_delete(bench: Settings, copy: str, now: datetime, figures: Figures, when: str) -> float:
    """The database's ceiling: one DELETE of the expired readings of a copy; its rows/s."""
    with db.connect(bench) as conn:
        started = time.perf_counter()
        with transaction(conn):
            deleted = queries.delete_expired_from_copy(conn, copy, now)
        seconds = time.perf_counter() - started
        with transaction(conn):
            queries.drop_copy(conn, copy)
    figures.add(
        f"plain DELETE on a copy, {when}",
        f"{deleted:,} readings in {seconds:.1f} s",
        f"= {deleted / seconds:,.0f} rows/s (one statement)",
    )
    return deleted / seconds


def _measure(
    conn: Conn,
    bench: Settings,
    load: IngestLoad,
    ceilings: tuple[float, float],
    figures: Figures,
) -> None:
    """The first run under load, the second run, then ingest alone for as long."""
    watch = LockWatch(bench, excluded=[conn.info.backend_pid]).start()
    print("first retention run, under ingest load …", flush=True)  # noqa: T201
    stored_before, started = load.stored(), time.perf_counter()
    first = enforce_retention(conn, bench)
    seconds = time.perf_counter() - started
    during = (load.stored() - stored_before) / seconds
    watch.stop()
    load.stop()

    started = time.perf_counter()
    second = enforce_retention(conn, bench)
    second_seconds = time.perf_counter() - started

    load.wait_drained()
    print(f"ingest alone for {seconds:.1f} s …", flush=True)  # noqa: T201
    load.start()
    time.sleep(3)
    stored_before = load.stored()
    time.sleep(seconds)
    alone = (load.stored() - stored_before) / seconds
    load.stop()

    details = first.details
    dropped, drop_seconds = details["dropped_rows"], details["drop_seconds"]
    batched, batched_seconds = details["batched_rows"], details["batched_seconds"]
    batched_rate = batched / batched_seconds if batched_seconds else 0.0
    figures.add(
        "drop_chunks (whole chunks)",
        f"{dropped:,} readings in {drop_seconds:.1f} s",
        f"= {dropped / drop_seconds if drop_seconds else 0:,.0f} rows/s,"
        f" {details['chunks_dropped']} chunks (counted by device and metric first)",
    )
    figures.add(
        "batched deletes",
        f"{batched:,} readings in {batched_seconds:.1f} s",
        f"= {batched_rate:,.0f} rows/s, {details['batches']:,} batches in"
        f" {details['chunks_batched']} chunks; {batched_rate / ceilings[1]:.0%} of the plain"
        f" DELETE under the same load, {batched_rate / ceilings[0]:.0%} of it alone"
        f" (target >= {TARGET_BATCHED_SHARE:.0%}); then {details['paused_seconds']:.1f} s of"
        " pauses between batches, not counted here",
    )
    figures.add(
        "first run in all",
        f"{first.rows:,} readings in {details['seconds']:.1f} s",
        f"steps given way: {details['steps_skipped']}",
    )
    figures.add("ingest alone", f"{alone:,.0f} readings/s", f"over {seconds:.1f} s")
    figures.add(
        "ingest during the retention run",
        f"{during:,.0f} readings/s",
        f"{during / alone if alone else 0:.0%} of alone (target >= {TARGET_INGEST_SHARE:.0%})",
    )
    figures.add(
        "longest ingest wait on a lock",
        f"{watch.longest * 1000:,.0f} ms",
        f"on {watch.on or 'nothing'}; pg_locks.waitstart of the ingester's sessions, sampled"
        f" every {watch.period * 1000:.0f} ms ({watch.samples:,} samples)",
    )
    figures.add(
        "second run straight after",
        f"{second.rows:,} readings in {second_seconds:.2f} s",
        f"{second.details['metrics_from_watermark']:,} of {second.details['metrics']:,} metrics"
        f" from their watermark (target < {TARGET_SECOND_RUN_SECONDS:g} s)",
    )
