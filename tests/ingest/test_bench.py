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
    "ingest end to end, 2 processes",
)


def rows_of(table: str) -> dict[str, str]:
    """Each row's figure, by the start of its path."""
    found = {}
    for row in ROWS:
        line = next((line for line in table.splitlines() if line.startswith(row)), None)
        assert line is not None, f"no {row!r} row in:\n{table}"
        found[row] = line.split("|")[1]
        assert re.search(r"\d", found[row]), f"no figure in {line!r}"
    return found


def test_the_ingest_benchmark_prints_every_figure(stack_config: Path) -> None:
    result = run_cli(
        "bench", "ingest", "--messages", "4000", "--devices", "40",
        "--latency-rate", "4000", "--latency-seconds", "2",
        config_path=stack_config, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    table = result.stdout[result.stdout.index("4,000 messages x 4 readings from 40 devices") :]
    rows_of(table)


def test_the_ingest_benchmark_soaks_and_draws_its_scale_curve(stack_config: Path) -> None:
    result = run_cli(
        "bench", "ingest", "--messages", "1000", "--devices", "20",
        "--latency-rate", "4000", "--latency-seconds", "1", "--processes", "1",
        "--soak", "3", "--scale", "20,60", "--stored", "2000",
        config_path=stack_config, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    table = result.stdout[result.stdout.index("1,000 messages x 4 readings from 20 devices") :]
    expected = (
        "soak 3 s at ",
        "soak: publish-to-commit p99, first and last minute",
        "end to end, 20 devices, 2,000 stored",
        "end to end, 60 devices, 2,000 stored",
        "register cache at 60 devices",
    )
    for row in expected:
        line = next((line for line in table.splitlines() if line.startswith(row)), None)
        assert line is not None, f"no {row!r} row in:\n{table}"
        assert re.search(r"\d", line.split("|")[1]), f"no figure in {line!r}"
    assert "ingest end to end, 2 processes" not in table  # --processes 1: none


def test_the_ingest_benchmark_takes_senml_packs(stack_config: Path) -> None:
    result = run_cli(
        "bench", "ingest", "--format", "senml", "--pack", "50", "--messages", "400",
        "--devices", "20", "--latency-rate", "4000", "--latency-seconds", "1",
        "--processes", "2",
        config_path=stack_config, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    heading = "400 messages x SenML packs of 50 readings from 20 devices"
    table = result.stdout[result.stdout.index(heading) :]
    rows_of(table)
    # A pack is 50 readings: the generator's messages/s and readings/s say so.
    (line,) = [line for line in table.splitlines() if line.startswith("load generator alone")]
    per_second, readings_per_second = (
        int(number.replace(",", "")) for number in re.findall(r"\d[\d,]*", line)[1:3]
    )
    assert abs(readings_per_second - 50 * per_second) <= 50
