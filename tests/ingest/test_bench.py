"""`lamplighter bench ingest` runs end to end and prints its table (small numbers: a smoke test;
the real figures come from running it by hand, see the README)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import run_cli

ROWS = (
    "load generator alone",
    "bare paho subscriber",
    "binary COPY straight into readings",
    "ingest end to end",
    "generator / ingest",
    "publish-to-commit at 4,000 readings/s",
    "ingester peak RSS",
)


def test_the_ingest_benchmark_prints_every_figure(stack_config: Path) -> None:
    result = run_cli(
        "bench", "ingest", "--messages", "4000", "--devices", "40",
        "--latency-rate", "4000", "--latency-seconds", "2",
        config_path=stack_config, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    table = result.stdout[result.stdout.index("4,000 messages x 4 readings from 40 devices") :]
    for row in ROWS:
        line = next((line for line in table.splitlines() if line.startswith(row)), None)
        assert line is not None, f"no {row!r} row in:\n{table}"
        assert re.search(r"\d", line.split("|")[1]), f"no figure in {line!r}"
