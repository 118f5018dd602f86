"""`lamplighter bench web` runs end to end and prints its table (small numbers: a smoke test; the
real figures come from running it by hand with 100,000 devices, see the README)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import run_cli

ROWS = (
    "register loaded (COPY)",
    "export rows stored after the load",
    "near-me 500 m, server time (30 points)",
    "full GeoJSON export /register.geojson",
    "device pages, gunicorn 2 workers (2 connections)",
    "device page latency",
)


def test_the_web_benchmark_prints_every_figure_and_got_no_errors(stack_config: Path) -> None:
    result = run_cli(
        "bench", "web", "--devices", "300", "--points", "30", "--connections", "2",
        "--requests", "200", "--seconds", "10",
        config_path=stack_config, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    table = result.stdout[result.stdout.index("300 devices; ") :]
    cells = [[cell.strip() for cell in line.split(" | ")] for line in table.splitlines()]
    figures = {row[0]: row[1:] for row in cells if len(row) == 3}
    assert set(ROWS) <= set(figures), table
    assert all(re.search(r"\d", figures[row][0]) for row in ROWS), table
    assert figures["device page latency"][1] == "errors: 0"
    assert re.match(r"target p95 <= 20 ms: (met|MISSED)", figures[ROWS[2]][1])
    assert re.fullmatch(r"\d+ req/s", figures[ROWS[4]][0])
    assert figures[ROWS[1]][0].startswith("300 devices in ")
