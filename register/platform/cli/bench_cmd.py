"""`lamplighter bench NAME [OPTIONS]`: run one of the benchmarks kept under `tests/benchmarks/`.

Benchmarks are not runtime code, so they live beside the tests and are not installed with the
packages: this command runs them from a source checkout. Each benchmark module has
`add_arguments(parser)` and `run(settings, args)`; `lamplighter bench NAME --help` lists a
benchmark's own options.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

from register.platform.config import Settings

BENCHMARKS = {
    "ingest": (
        "tests.benchmarks.ingest.ingest_bench",
        "MQTT to TimescaleDB: throughput, latency, RSS, next to the ceilings",
    ),
    "web": (
        "tests.benchmarks.web.web_bench",
        "public register: near-me, full GeoJSON export, device pages/s",
    ),
    "credentials": (
        "tests.benchmarks.credentials.credentials_bench",
        "issuing 5,000 device credentials; one change from commit to the broker, with all of them",
    ),
    "retention": (
        "tests.benchmarks.retention.retention_bench",
        "enforce_retention on 20 million readings: drop_chunks and batched deletes next to a "
        "plain DELETE, ingest meanwhile, the second run",
    ),
}
# The checkout's top folder: register/platform/cli/bench_cmd.py is three folders below it.
CHECKOUT = Path(__file__).resolve().parents[3]


class NoBenchmarks(Exception):
    """The benchmarks are not here: this is an installed copy, not a source checkout."""


def add_parser(commands: Any) -> None:
    listing = "; ".join(f"{name}: {text}" for name, (_, text) in BENCHMARKS.items())
    parser = commands.add_parser(
        "bench",
        help="measure speed and memory on the local services",
        description=f"Run a benchmark from the source checkout. {listing}.",
    )
    parser.add_argument("benchmark", choices=sorted(BENCHMARKS), metavar="NAME")
    parser.add_argument(
        "options", nargs=argparse.REMAINDER, help="the benchmark's own options (NAME --help)"
    )
    parser.set_defaults(run=run_bench)


def load_benchmark(name: str) -> Any:
    """The benchmark's module, imported from the checkout's `tests/benchmarks/`."""
    if not (CHECKOUT / "tests" / "benchmarks").is_dir():
        raise NoBenchmarks(
            f"benchmarks are kept with the tests in a source checkout; none under {CHECKOUT}"
        )
    if str(CHECKOUT) not in sys.path:
        sys.path.append(str(CHECKOUT))
    return importlib.import_module(BENCHMARKS[name][0])


def run_bench(settings: Settings, args: argparse.Namespace) -> int:
    try:
        module = load_benchmark(args.benchmark)
    except NoBenchmarks as error:
        print(f"lamplighter bench: {error}", file=sys.stderr)
        return 1
    parser = argparse.ArgumentParser(
        prog=f"lamplighter bench {args.benchmark}", description=BENCHMARKS[args.benchmark][1]
    )
    module.add_arguments(parser)
    return int(module.run(settings, parser.parse_args(args.options)) or 0)
