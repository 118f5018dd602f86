"""`lamplighter bench web`: the public register's speed with a large register, next to its targets.

On the local services, in a database of its own (`lamplighter_bench`, recreated each run),
with `--devices` (100,000) devices over Greater London loaded by COPY:
  1. near-me: `/devices.json?near=…&radius=500` at `--points` (500) random points among the
     devices, p50 and p95 server time (in-process WSGI calls);
  2. the full GeoJSON export, `/register.geojson`: built the first time (cold: the devices'
     stored export rows joined, after the load has stored them), then from the kept body
     (warm), then a 304, and its size;
  3. device pages, `/devices/<id>` at random, under gunicorn with `--workers` (2) processes,
     driven by a separate load process over `--connections` (4) keep-alive connections for at
     most `--requests` requests or `--seconds` seconds: requests/s, latency p50 and p95, errors.
Targets are printed beside the figures; nothing here asserts them.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from register import exports
from register.platform import db
from register.platform.config import Settings
from tests.benchmarks.common import BENCH_DATABASE, Figures, fresh_bench_database, local_services
from tests.benchmarks.web import device_pages, in_process, london_register
from web.app import create_app
from web.database import EXTENSION

NEAR_ME_RADIUS = 500.0
TARGET_NEAR_ME_P95_MS = 20.0
TARGET_EXPORT_SECONDS = 2.0
TARGET_PAGES_PER_SECOND = 300.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--devices", type=int, default=100_000, metavar="N")
    parser.add_argument("--points", type=int, default=500, help="near-me searches to time")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--connections", type=int, default=4, help="concurrent connections")
    parser.add_argument("--requests", type=int, default=20_000, help="most device pages asked")
    parser.add_argument("--seconds", type=float, default=20.0, help="longest device-page load")


def run(settings: Settings, args: argparse.Namespace) -> int:
    with local_services(settings):
        return _run(settings, args)


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def _run(settings: Settings, args: argparse.Namespace) -> int:
    print(f"preparing {BENCH_DATABASE} with {args.devices:,} devices …", flush=True)  # noqa: T201
    bench = fresh_bench_database(settings)
    started = time.perf_counter()
    with db.connect(bench, autocommit=True) as conn:
        loaded = london_register.load(conn, args.devices)
    figures = Figures()
    figures.add(
        "register loaded (COPY)",
        f"{args.devices:,} devices in {time.perf_counter() - started:.1f} s",
        f"{loaded.statuses['active']:,} active, {loaded.personal_devices:,} with personal data",
    )

    # A bulk load writes no export rows; a real one would then store them, as `db upgrade` does.
    started = time.perf_counter()
    with db.connect(bench) as conn:
        stored = exports.store_missing_rows(conn)
    figures.add(
        "export rows stored after the load",
        f"{stored:,} devices in {time.perf_counter() - started:.1f} s",
        "once per bulk load; every change stores its device's row",
    )

    app = create_app(bench)
    try:
        points = in_process.points_near(loaded.points, args.points)
        near = in_process.near_me(app, points, NEAR_ME_RADIUS)
        figures.add(
            f"near-me {NEAR_ME_RADIUS:g} m, server time ({len(points)} points)",
            f"p50 {near.p50 * 1000:.1f} ms, p95 {near.p95 * 1000:.1f} ms",
            f"target p95 <= {TARGET_NEAR_ME_P95_MS:g} ms: "
            f"{_verdict(near.p95 * 1000 <= TARGET_NEAR_ME_P95_MS)}; "
            f"{near.mean_matches:.0f} devices within reach on average",
        )
        export = in_process.geojson_export(app)
        figures.add(
            "full GeoJSON export /register.geojson",
            f"cold {export.cold:.2f} s, warm {export.warm:.2f} s",
            f"target <= {TARGET_EXPORT_SECONDS:g} s: cold "
            f"{_verdict(export.cold <= TARGET_EXPORT_SECONDS)}; {export.megabytes:.0f} MB; "
            f"304 in {export.not_modified * 1000:.0f} ms",
        )
    finally:
        app.extensions[EXTENSION].close()

    load = device_pages.measure(
        bench,
        loaded.public_ids,
        workers=args.workers,
        connections=args.connections,
        requests=args.requests,
        seconds=args.seconds,
    )
    figures.add(
        f"device pages, gunicorn {args.workers} workers ({args.connections} connections)",
        f"{load.per_second:,.0f} req/s",
        f"target >= {TARGET_PAGES_PER_SECOND:g} req/s: "
        f"{_verdict(load.per_second >= TARGET_PAGES_PER_SECOND)}; {load.requests:,} requests",
    )
    figures.add(
        "device page latency",
        f"p50 {load.p50 * 1000:.1f} ms, p95 {load.p95 * 1000:.1f} ms",
        f"errors: {load.errors}" + (f" ({'; '.join(load.first_errors)})" if load.errors else ""),
    )
    print(  # noqa: T201
        f"\n{args.devices:,} devices; {os.cpu_count()} cores; Python {platform.python_version()}; "
        "server, database and load generator share the machine\n"
    )
    print(figures.table())  # noqa: T201
    return 1 if load.errors else 0
