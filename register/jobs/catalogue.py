"""Every job, with what it is for and how often it runs.

`SCHEDULED` is what `lamplighter jobs` runs on a schedule, each at the interval its setting
gives. `AFTER_UPGRADE` runs once after the migrations (`lamplighter db upgrade`, `up`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from register.jobs.compliance import compute_compliance
from register.jobs.export_rows import store_export_rows
from register.jobs.history import prune_history
from register.jobs.outcome import Outcome
from register.jobs.quarantine import purge_quarantine
from register.jobs.retention import enforce_retention
from register.jobs.settings import JobsSettings
from register.jobs.silence import mark_silent
from register.platform.config import Settings
from register.queries import Conn


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Conn, Settings], Outcome]
    # What it keeps true, for the public system page.
    purpose: str
    # Its interval in seconds, from the `[jobs]` settings; None for a job not scheduled.
    every: Callable[[JobsSettings], float] | None = None

    def interval(self, settings: Settings) -> float | None:
        """Seconds between runs, or None when the job is not scheduled."""
        return None if self.every is None else float(self.every(settings.jobs))


SCHEDULED = (
    Job(
        "enforce_retention",
        enforce_retention,
        "Deletes every reading older than its metric's declared retention.",
        lambda jobs: jobs.retention_interval,
    ),
    Job(
        "mark_silent",
        mark_silent,
        "Marks devices that have not reported for several of their declared intervals.",
        lambda jobs: jobs.silence_interval,
    ),
    Job(
        "purge_quarantine",
        purge_quarantine,
        "Deletes refused messages once they are older than the days quarantine keeps them.",
        lambda jobs: jobs.quarantine_interval,
    ),
    Job(
        "compliance",
        compute_compliance,
        "Measures each metric's oldest stored reading against its retention, and counts "
        "refused data.",
        lambda jobs: jobs.compliance_interval,
    ),
    Job(
        "prune_history",
        prune_history,
        "Deletes the record of job runs, and sign-in records that no longer count, once they "
        "are older than the days they are kept.",
        lambda jobs: jobs.history_interval,
    ),
)

AFTER_UPGRADE = (
    Job(
        "store_export_rows",
        store_export_rows,
        "Stores the devices' export rows that are missing or outdated.",
    ),
)


def find(name: str) -> Job | None:
    """The job of that name, scheduled or not."""
    return next((job for job in SCHEDULED + AFTER_UPGRADE if job.name == name), None)


def run_after_upgrade(conn: Conn, settings: Settings) -> list[str]:
    """Run every job that follows a migration, in order; what each did, for the ones that did."""
    return [said for job in AFTER_UPGRADE if (said := job.run(conn, settings).summary)]
