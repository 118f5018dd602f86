"""`lamplighter bench ingest`: end-to-end ingest speed, latency and memory, next to its ceilings.

On the local services, in a database of its own (`lamplighter_bench`, recreated each run):
  1. the load generator alone publishes M messages to a topic nobody reads: its ceiling;
  2. a bare paho subscriber receives the same M messages: the MQTT client's ceiling;
  3. binary COPY of the same rows straight into `readings`: the database's ceiling;
  4. `lamplighter ingest` (a child process) takes the M messages at QoS 1, acking after each
     commit: readings/s from the first publish to the last commit, and its peak RSS;
  5. the generator paces messages at a set rate (25,000 readings/s by default) stamped with
     their publish time, and the ingester's delay histogram gives publish-to-commit p50 and p99;
  6. `lamplighter ingest --processes N` takes M messages again, for 2 and for `--processes`
     (the machine's cores by default) ingesters in one shared group;
  7. with `--soak S`: a steady load at half the end-to-end figure for S seconds, with the
     ingester's RSS and publish-to-commit p99 over its first and its last minute;
  8. with `--scale`: end to end again with 1,000, 10,000 and 100,000 devices in the register
     (each in a database made afresh and its register loaded before the clock starts, with
     `--stored` readings already in the hypertable), and the register cache's memory at the
     largest count.
Each message carries 4 readings (native JSON), or with `--format senml` a SenML pack of
`--pack` (50) readings, from K devices in turn. The figures are printed as one table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import orjson

from ingest import queries
from ingest.register_cache import RegisterCache, devices_from_rows
from register.platform import db
from register.platform.config import Settings
from tests.benchmarks.common import (
    BENCH_DATABASE,
    CHECKOUT,
    Figures,
    fresh_bench_database,
    histogram_quantile,
    local_services,
)
from tests.benchmarks.ingest import scale_queries
from tests.benchmarks.ingest.bench_register import METRICS, add_bench_devices
from tests.benchmarks.ingest.harness import IngesterProcess, consecutive_free_ports, write_config
from tests.benchmarks.ingest.loadgen import LoadPublisher

CHUNK = 1000
DELAY_HISTOGRAM = "lamplighter_ingest_delay_seconds"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--messages", type=int, default=100_000, metavar="M")
    parser.add_argument("--devices", type=int, default=1_000, metavar="K")
    parser.add_argument(
        "--latency-rate", type=float, default=25_000, metavar="R", help="readings/s, paced"
    )
    parser.add_argument("--latency-seconds", type=float, default=15, metavar="S")
    parser.add_argument("--format", choices=("native", "senml"), default="native")
    parser.add_argument(
        "--pack", type=int, default=50, metavar="P", help="readings in each SenML pack"
    )
    parser.add_argument(
        "--soak", type=float, default=0, metavar="S", help="a steady load for S seconds"
    )
    parser.add_argument(
        "--scale",
        nargs="?",
        const="1000,10000,100000",
        metavar="COUNTS",
        help="end to end with each number of devices (1000,10000,100000 when none are given)",
    )
    parser.add_argument(
        "--stored",
        type=int,
        default=0,
        metavar="R",
        help="with --scale, readings stored before each run (the README: 50000000)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=max(2, os.cpu_count() or 2),
        metavar="N",
        help="also run with 2 and with N ingester processes (1 for none)",
    )


_last_stamp = 0.0


def readings_per_message(args: argparse.Namespace) -> int:
    return args.pack if args.format == "senml" else len(METRICS)


def messages(
    prefix: str, devices: list[str], count: int, start: int = 0, *, pack: int = 0
) -> list[tuple[str, bytes]]:
    """`count` messages from the devices in turn, stamped now: native JSON with 4 readings, or
    (`pack` > 0) SenML packs of `pack` readings, the four metrics at successive times.

    Stamps are now plus 10 microseconds per reading time, and never go back, so that no two
    messages of a device share a time (they would be one reading twice).
    """
    global _last_stamp  # noqa: PLW0603 - one clock for the whole run
    times = -(-pack // len(METRICS)) if pack else 1  # reading times in one message
    now = max(time.time(), _last_stamp)
    _last_stamp = now + count * times * 10 / 1_000_000
    out = []
    for offset, n in enumerate(range(start, start + count)):
        device = devices[n % len(devices)]
        stamp = round(now + offset * times * 10 / 1_000_000, 5)
        if pack:
            records = [
                {"n": METRICS[i % len(METRICS)], "t": (i // len(METRICS)) / 100_000,
                 "v": round(10 + (n * (i + 3)) % 400 / 10, 1)}
                for i in range(pack)
            ]  # fmt: skip
            records[0].update({"bn": f"{device}/", "bt": stamp, "bu": "ug/m3"})
            out.append((f"{prefix}/bench/{device}/senml", orjson.dumps(records)))
            continue
        readings = {key: round(10 + (n * (i + 3)) % 400 / 10, 1) for i, key in enumerate(METRICS)}
        out.append(
            (f"{prefix}/bench/{device}/up", orjson.dumps({"time": stamp, "readings": readings}))
        )
    return out


def publish_all(
    publisher: LoadPublisher, prefix: str, devices: list[str], total: int, *, pack: int = 0
) -> float:
    """Publish `total` messages as fast as the broker takes them; seconds until all acked."""
    started = time.perf_counter()
    for start in range(0, total, CHUNK):
        publisher.publish(messages(prefix, devices, min(CHUNK, total - start), start, pack=pack))
    if not publisher.wait_acked(300):
        raise RuntimeError("the broker did not acknowledge every message within 300 s")
    return time.perf_counter() - started


def run(settings: Settings, args: argparse.Namespace) -> int:
    with local_services(settings):
        return _run(settings, args)


def _prepare_database(settings: Settings, device_count: int) -> tuple[Settings, list[str]]:
    bench_settings = fresh_bench_database(settings)
    with db.connect(bench_settings) as conn:
        devices = add_bench_devices(conn, device_count)
    return bench_settings, devices


def _run(settings: Settings, args: argparse.Namespace) -> int:
    per_message = readings_per_message(args)
    pack = args.pack if args.format == "senml" else 0
    total, readings = args.messages, args.messages * per_message
    mqtt = urlsplit(settings.mqtt_url)
    host, port = mqtt.hostname or "127.0.0.1", mqtt.port or 1883
    run = f"bench-{int(time.time())}"
    print(f"preparing {BENCH_DATABASE} with {args.devices} devices …", flush=True)  # noqa: T201
    bench, devices = _prepare_database(settings, args.devices)
    figures = Figures()

    with LoadPublisher(host, port, f"{run}-void") as publisher:
        seconds = publish_all(publisher, f"{run}-void", devices, total, pack=pack)
    generator = total / seconds
    figures.add(
        "load generator alone (QoS 1, to no subscriber)",
        f"{generator:,.0f} msg/s",
        f"= {generator * per_message:,.0f} readings/s",
    )

    bare = _bare_subscriber(host, port, run, devices, total, pack=pack)
    figures.add(
        "bare paho subscriber, receive only",
        f"{bare:,.0f} msg/s",
        f"= {bare * per_message:,.0f} readings/s",
    )

    copy_rate = _copy_ceiling(bench, readings // len(METRICS))
    figures.add("binary COPY straight into readings", f"{copy_rate:,.0f} rows/s")

    with tempfile.TemporaryDirectory(prefix="lamplighter-bench-") as scratch:
        ingester, _ = _start_ingester(
            bench, Path(scratch), run, host, port, pack=pack, devices=devices
        )
        try:
            # Latency first, at a steady rate on a quiet system: the end-to-end burst below
            # leaves autovacuum a chunk of millions of new readings to go through.
            p50, p99, paced = _latency(
                ingester, host, port, run=run, devices=devices, pack=pack,
                rate=args.latency_rate, seconds=args.latency_seconds, per_message=per_message,
            )  # fmt: skip
            end_to_end, publish_seconds = _end_to_end(
                [ingester], host=host, port=port, run=run, devices=devices, total=total,
                readings=readings, pack=pack,
            )  # fmt: skip
            figures.add(
                "ingest end to end (QoS 1, ack after commit)",
                f"{end_to_end:,.0f} readings/s",
                f"{end_to_end / per_message / bare:.0%} of the bare subscriber, "
                f"{end_to_end / copy_rate:.0%} of COPY",
            )
            figures.add(
                "generator / ingest",
                f"{generator * per_message / end_to_end:.1f}x",
                f"(the publish of this run took {publish_seconds:.1f} s)",
            )
            figures.add(
                f"publish-to-commit at {args.latency_rate:,.0f} readings/s",
                f"p50 {p50 * 1000:,.0f} ms, p99 {p99 * 1000:,.0f} ms",
                f"({paced:,.0f} readings/s actually sent; histogram buckets)",
            )
            memory = ingester.memory_kib()
            figures.add(
                "ingester peak RSS",
                f"{memory.peak_kib / 1024:,.0f} MB",
                f"(now {memory.rss_kib / 1024:,.0f} MB)",
            )
            if args.soak:
                soak = Soak(ingester, host, port, run, devices, pack, per_message)
                soak.run(end_to_end / 2, args.soak, figures)
        finally:
            ingester.stop()
        for processes in sorted({2, args.processes}) if args.processes > 1 else []:
            group_run = f"{run}-p{processes}"
            command, children = _start_ingester(
                bench, Path(scratch), group_run, host, port, pack=pack, processes=processes,
                devices=devices,
            )  # fmt: skip
            try:
                rate, _ = _end_to_end(
                    children, host=host, port=port, run=group_run, devices=devices, total=total,
                    readings=readings, pack=pack,
                )  # fmt: skip
            finally:
                command.stop()
            figures.add(
                f"ingest end to end, {processes} processes",
                f"{rate:,.0f} readings/s",
                f"{rate / end_to_end:.2f}x one process, {rate / per_message / bare:.0%} of the "
                "bare subscriber",
            )
        if args.scale:
            scale_curve(settings, Path(scratch), args, figures, host=host, port=port)
    shape = f"SenML packs of {pack} readings" if pack else "4 readings"
    print(f"\n{total:,} messages x {shape} from {args.devices:,} devices\n")  # noqa: T201
    print(figures.table())  # noqa: T201
    return 0


def _end_to_end(
    ingesters: list[IngesterProcess],
    *,
    host: str,
    port: int,
    run: str,
    devices: list[str],
    total: int,
    readings: int,
    pack: int,
) -> tuple[float, float]:
    """Readings/s from the first publish to the last commit, and the publish's seconds."""
    before = _accounted(_summed_metrics(ingesters))
    with LoadPublisher(host, port, f"{run}-load") as publisher:
        first_publish = time.monotonic()
        publish_seconds = publish_all(publisher, run, devices, total, pack=pack)
    last_commit = _wait_for_every_reading(ingesters, readings, before)
    return readings / (last_commit - first_publish), publish_seconds


def _summed_metrics(ingesters: list[IngesterProcess]) -> dict[str, float]:
    """Every ingester's counters, added together."""
    summed: dict[str, float] = {}
    for ingester in ingesters:
        for name, value in ingester.metrics().items():
            summed[name] = summed.get(name, 0.0) + value
    return summed


class Accounted(NamedTuple):
    """Readings an ingester has stored, and all it has dealt with (stored, duplicate or
    refused)."""

    stored: float
    total: float


REJECTED_COUNTER = "lamplighter_ingest_readings_rejected"


def _accounted(figures: dict[str, float]) -> Accounted:
    stored = figures.get("lamplighter_ingest_readings_stored_total", 0.0)
    return Accounted(
        stored,
        stored
        + figures.get("lamplighter_ingest_readings_duplicate_total", 0.0)
        + sum(
            v for k, v in figures.items() if k.startswith("lamplighter_ingest_readings_rejected")
        ),
    )


def _wait_for_every_reading(
    ingesters: list[IngesterProcess], readings: int, before: Accounted
) -> float:
    """The monotonic time the last of `readings` more than `before` was committed;
    RuntimeError if some were not stored (skipped as duplicates or quarantined) or nothing
    moves for a minute."""
    last_change, last_total = time.monotonic(), -1.0
    while time.monotonic() - last_change < 60:
        now = _accounted(_summed_metrics(ingesters))
        stored, total = now.stored - before.stored, now.total - before.total
        if stored >= readings:
            return time.monotonic()
        if total >= readings:
            raise RuntimeError(
                f"only {stored:,.0f} of {readings:,} readings were stored; "
                f"see the ingester's counters"
            )
        if total != last_total:
            last_change, last_total = time.monotonic(), total
        time.sleep(0.01)
    raise RuntimeError(f"the ingester stopped making progress at {last_total:,.0f} readings")


def _bare_subscriber(
    host: str, port: int, run: str, devices: list[str], total: int, *, pack: int
) -> float:
    argv = [
        sys.executable,
        "-m",
        "tests.benchmarks.ingest.subscriber",
        host,
        str(port),
        f"{run}/+/+/{'senml' if pack else 'up'}",
        str(total),
        "600",
    ]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, cwd=CHECKOUT) as child:
        if child.stdout is None or child.stdout.readline().strip() != "ready":
            raise RuntimeError("the bare subscriber did not subscribe")
        with LoadPublisher(host, port, f"{run}-bare") as publisher:
            first = time.time()
            publish_all(publisher, run, devices, total, pack=pack)
        result = json.loads(child.stdout.readline())
    if result["received"] < total:
        raise RuntimeError(f"the bare subscriber received {result['received']} of {total}")
    return float(total / (result["last"] - first))


def _copy_ceiling(settings: Settings, total: int) -> float:
    """Rows/s of binary COPY of `total` times four rows in one statement, made as the
    ingester's are (`queries.copy_new_readings`)."""
    start_us = time.time_ns() // 1000
    with db.connect(settings) as conn:
        metrics = queries.list_metric_devices(conn)
        rows = [
            (start_us + n, metric.device_id, metric.metric_id, n % 400.0)
            for n in range(total)
            for metric in metrics[(n % (len(metrics) // 4)) * 4 :][:4]
        ]
        started = time.perf_counter()
        queries.copy_new_readings(conn, rows)
        conn.commit()
        seconds = time.perf_counter() - started
        queries.delete_all_readings(conn)
        conn.commit()
    return len(rows) / seconds


def _start_ingester(
    settings: Settings,
    scratch: Path,
    run: str,
    host: str,
    port: int,
    *,
    devices: list[str],
    pack: int = 0,
    processes: int = 1,
) -> tuple[IngesterProcess, list[IngesterProcess]]:
    """`lamplighter ingest` (with `--processes` when more than one), subscribed and warmed
    up; the command, and each ingester as its metrics endpoint shows it."""
    config = write_config(
        scratch / f"{run}.toml",
        {
            "database": {"url": settings.database_url},
            "mqtt": {"url": f"mqtt://{host}:{port}", "session_expiry": 120},
            "ingest": {"log_interval": 3600.0},
        },
        [
            {
                "name": "bench",
                "format": "senml" if pack else "native",
                "topics": [f"{run}/+/+/{'senml' if pack else 'up'}"],
            }
        ],
    )
    metrics_port = consecutive_free_ports(processes)
    options = ("--processes", str(processes)) if processes > 1 else ()
    command = IngesterProcess(
        config, metrics_port, f"{run}-ingest", scratch / f"{run}.log", options=options
    ).start()
    children = [command] if processes == 1 else [
        IngesterProcess(config, metrics_port + n, "", scratch / f"{run}.log")
        for n in range(processes)
    ]  # fmt: skip
    for child in children:
        child.wait_subscribed()
        # The register is loaded before the clock starts: its size is a figure of its own.
        child.wait_for("lamplighter_ingest_register_devices", len(devices), timeout=600)
    # What happens once in an ingester's life, or in a database's, is not what is measured:
    # connecting to the database, the hypertable's first chunk.
    _end_to_end(
        children, host=host, port=port, run=run, devices=devices, total=WARM_UP,
        readings=WARM_UP * (pack or len(METRICS)), pack=pack,
    )  # fmt: skip
    return command, children


# Messages each new ingester (or group of them) stores before it is measured.
WARM_UP = 200


def _latency(
    ingester: IngesterProcess,
    host: str,
    port: int,
    *,
    run: str,
    devices: list[str],
    pack: int,
    rate: float,
    seconds: float,
    per_message: int,
) -> tuple[float, float, float]:
    """Publish at `rate` readings/s for `seconds`; publish-to-commit p50 and p99 over them, and
    the rate actually sent."""
    # Read the histogram once it holds every message received so far: the last batch before
    # may still be being counted, and its delays are not this run's.
    received = ingester.metric("lamplighter_ingest_messages_total{source=bench}")
    ingester.wait_for(f"{DELAY_HISTOGRAM}_count", received, timeout=120)
    before = _buckets(ingester)
    per_tick = max(1, round(rate / per_message / 100))  # messages every 10 ms
    ticks = int(seconds * 100)
    sent = 0
    with LoadPublisher(host, port, f"{run}-paced") as publisher:
        started = time.monotonic()
        for tick in range(ticks):
            publisher.publish(messages(run, devices, per_tick, _paced_start() + sent, pack=pack))
            sent += per_tick
            pause = started + (tick + 1) / 100 - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        paced = sent * per_message / (time.monotonic() - started)
        if not publisher.wait_acked(120):
            raise RuntimeError("the broker did not acknowledge every paced message")
    ingester.wait_for(f"{DELAY_HISTOGRAM}_count", before["+Inf"] + sent, timeout=120)
    after = _buckets(ingester)
    delta = {bound: after[bound] - before.get(bound, 0.0) for bound in after}
    return histogram_quantile(delta, 0.50), histogram_quantile(delta, 0.99), paced


def _buckets(ingester: IngesterProcess) -> dict[str, float]:
    prefix = f"{DELAY_HISTOGRAM}_bucket{{le="
    return {
        name[len(prefix) : -1]: value
        for name, value in ingester.metrics().items()
        if name.startswith(prefix)
    }


_paced_sent = 10_000_000


def _paced_start() -> int:
    """Message numbers of their own for each paced run (so values differ between runs)."""
    global _paced_sent  # noqa: PLW0603 - one counter for the whole run
    _paced_sent += 1_000_000
    return _paced_sent


@dataclass
class Soak:
    """A steady load on one ingester, its first and last minute measured."""

    ingester: IngesterProcess
    host: str
    port: int
    prefix: str
    devices: list[str]
    pack: int
    per_message: int

    def _paced(self, rate: float, seconds: float) -> tuple[float, float, float]:
        return _latency(
            self.ingester, self.host, self.port, run=self.prefix, devices=self.devices,
            pack=self.pack, rate=rate, seconds=seconds, per_message=self.per_message,
        )  # fmt: skip

    def run(self, rate: float, seconds: float, figures: Figures) -> None:
        window = min(60.0, seconds / 3)
        print(f"soaking at {rate:,.0f} readings/s for {seconds:.0f} s …", flush=True)  # noqa: T201
        _, p99_start, _ = self._paced(rate, window)
        rss_start = self.ingester.memory_kib().rss_kib
        if seconds > 2 * window:
            self._paced(rate, seconds - 2 * window)
        _, p99_end, paced = self._paced(rate, window)
        rss_end = self.ingester.memory_kib().rss_kib
        figures.add(
            f"soak {seconds:,.0f} s at {paced:,.0f} readings/s: RSS",
            f"{rss_start / 1024:,.1f} MB to {rss_end / 1024:,.1f} MB",
            f"{(rss_end - rss_start) / rss_start:+.1%} (target at most +5%)",
        )
        figures.add(
            "soak: publish-to-commit p99, first and last minute",
            f"{p99_start * 1000:,.0f} ms to {p99_end * 1000:,.0f} ms",
            f"{(p99_end - p99_start) / p99_start:+.0%} (target within 20%)",
        )


def scale_curve(
    settings: Settings,
    scratch: Path,
    args: argparse.Namespace,
    figures: Figures,
    *,
    host: str,
    port: int,
) -> None:
    """End to end with each register size (and `--stored` readings in the hypertable)."""
    pack = args.pack if args.format == "senml" else 0
    per_message = readings_per_message(args)
    counts = [int(count) for count in args.scale.split(",")]
    first = 0.0
    for count in counts:
        print(f"scale: {count:,} devices, {args.stored:,} readings stored …", flush=True)  # noqa: T201
        bench, devices = _prepare_database(settings, count)
        if args.stored:
            _fill_readings(bench, args.stored)
        if count == counts[-1]:
            figures.add(f"register cache at {count:,} devices", f"{_cache_mib(bench):,.1f} MiB", "")
        run = f"scale-{count}-{int(time.time())}"
        ingester, _ = _start_ingester(bench, scratch, run, host, port, pack=pack, devices=devices)
        try:
            rate, _ = _end_to_end(
                [ingester], host=host, port=port, run=run, devices=devices, total=args.messages,
                readings=args.messages * per_message, pack=pack,
            )  # fmt: skip
        finally:
            ingester.stop()
        first = first or rate
        figures.add(
            f"end to end, {count:,} devices, {args.stored:,} stored",
            f"{rate:,.0f} readings/s",
            f"{rate / first - 1:+.1%} from {counts[0]:,} devices (target within -10%)",
        )


def _fill_readings(settings: Settings, rows: int) -> None:
    """`rows` readings over the past days, spread over every device's metrics."""
    started = time.perf_counter()
    with db.connect(settings) as conn:
        stored = scale_queries.fill_readings(conn, datetime.now(UTC), rows)
        conn.commit()
    with db.connect(settings, autocommit=True) as conn:
        scale_queries.analyze_readings(conn)
    print(f"  {stored:,} readings stored in {time.perf_counter() - started:.0f} s", flush=True)  # noqa: T201


def _cache_mib(settings: Settings) -> float:
    """Memory the ingester's register cache takes for this register (tracemalloc)."""
    with db.connect(settings) as conn:
        rows = list(queries.list_enforced_devices(conn))
    tracemalloc.start()
    try:
        cache = RegisterCache()
        cache.replace_all(devices_from_rows(rows))
        size, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del cache
    return size / 1024 / 1024
