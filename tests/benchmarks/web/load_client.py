"""The device-page load: a process of its own that asks a loopback server for random device pages
over a few keep-alive connections, and prints what it measured as one line of JSON.

    python -m tests.benchmarks.web.load_client PORT IDS_FILE --connections 4 \
        --requests 20000 --seconds 20

Bounded in count and in time, whichever comes first, and only ever to 127.0.0.1. Each
connection first asks for a few pages it does not count, so the server's connection pools and
caches are warm when measuring starts.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.benchmarks.common import quantile

HOST = "127.0.0.1"
WARM_UP = 25


@dataclass
class Tally:
    """What one connection saw."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # perf_counter() when the first counted request started, and when the last one ended.
    began: float = float("inf")
    ended: float = 0.0


def _ask(connection: http.client.HTTPConnection, path: str) -> str | None:
    """GET one page on a kept-alive connection; what went wrong, or None."""
    connection.request("GET", path)
    answer = connection.getresponse()
    answer.read()
    if answer.status != 200:
        return f"{answer.status} for {path}"
    return None


def _drive(port: int, paths: list[str], deadline: float, tally: Tally) -> None:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        for n, path in enumerate(paths):
            if time.monotonic() >= deadline:
                break
            started = time.perf_counter()
            try:
                problem = _ask(connection, path)
            except (OSError, http.client.HTTPException) as error:
                problem = f"{type(error).__name__}: {error}"
                connection.close()  # the next request opens a fresh connection
            if n >= WARM_UP:
                tally.ended = time.perf_counter()
                tally.began = min(tally.began, started)
                tally.latencies.append(tally.ended - started)
                if problem:
                    tally.errors.append(problem)
    finally:
        connection.close()


def run(
    port: int, ids: list[str], connections: int, requests: int, seconds: float
) -> dict[str, object]:
    """Drive the server; requests/s, latencies and errors over the counted requests."""
    rng = random.Random(7)  # noqa: S311 - which pages to ask for, not secrets
    per_connection = requests // connections + WARM_UP
    tallies = [Tally() for _ in range(connections)]
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=_drive,
            args=(
                port,
                [f"/devices/{rng.choice(ids)}" for _ in range(per_connection)],
                deadline,
                t,
            ),
        )
        for t in tallies
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies = [x for t in tallies for x in t.latencies]
    errors = [e for t in tallies for e in t.errors]
    if not latencies:
        return {"requests": 0, "seconds": 0.0, "errors": len(errors), "first_errors": errors[:3]}
    return {
        "requests": len(latencies),
        "seconds": max(t.ended for t in tallies) - min(t.began for t in tallies),
        "errors": len(errors),
        "first_errors": errors[:3],
        "p50": quantile(latencies, 0.50),
        "p95": quantile(latencies, 0.95),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("ids_file", type=Path, help="device public ids, one a line")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    ids = args.ids_file.read_text().split()
    result = run(args.port, ids, args.connections, args.requests, args.seconds)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
