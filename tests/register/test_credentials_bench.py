"""`lamplighter bench credentials` runs end to end and prints its table (small numbers: a smoke
test; the figures in the README come from running it by hand)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import run_cli

ROWS = (
    "issuing 60 credentials, a transaction each",
    "writing the files for every credential",
    "new credential to login, 3 changes",
    "revoke to drop, 3 changes",
)


def test_the_credentials_benchmark_prints_every_figure(stack_config: Path) -> None:
    result = run_cli(
        "bench", "credentials", "--devices", "60", "--changes", "3",
        config_path=stack_config, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    table = result.stdout[result.stdout.index("60 device credentials") :]
    for row in ROWS:
        line = next((line for line in table.splitlines() if line.startswith(row)), None)
        assert line is not None, f"no {row!r} row in:\n{table}"
        assert re.search(r"\d", line.split("|")[1]), f"no figure in {line!r}"
    (missed,) = [line for line in table.splitlines() if line.startswith("changes the broker")]
    assert missed.split("|")[1].strip() == "0", table
