"""What a job did: the one value every job returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Outcome:
    # Rows the job deleted, marked or computed.
    rows: int
    # What it did, in one line for a person: "48,211 readings deleted".
    summary: str
    # Figures for scripts (`lamplighter jobs run NAME --json`).
    details: Mapping[str, Any] = field(default_factory=dict)
    # Readings deleted, by (device id, metric id): recorded with the run (retention only).
    deleted_by_metric: Mapping[tuple[int, int], int] = field(default_factory=dict)
