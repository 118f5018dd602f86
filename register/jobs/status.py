"""Where each scheduled job stands: its interval, its last finished run, and when the next is
due. `lamplighter jobs list` and the public system page both read it.

The interval is the one the scheduler recorded with the job's last run, so a page served by a
process with other settings still tells the truth; the settings in force here fill in for a job
that has not run on a schedule yet. "Next run" is an estimate: the last start plus the interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from register.jobs import catalogue
from register.platform.config import Settings
from register.queries import Conn
from register.queries import jobs as job_queries


@dataclass(frozen=True)
class LastRun:
    started_at: datetime
    finished_at: datetime
    rows_affected: int | None
    result: str | None
    error: str | None

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class JobStatus:
    name: str
    purpose: str
    interval_seconds: float
    last_run: LastRun | None
    # When the scheduler should start it next: an interval after the last start. None when it
    # has never run.
    next_due: datetime | None

    def overdue(self, now: datetime) -> bool:
        """True when the next run is more than one interval late: no scheduler is running it."""
        if self.next_due is None:
            return False
        return now > self.next_due + timedelta(seconds=self.interval_seconds)


def job_statuses(conn: Conn, settings: Settings) -> list[JobStatus]:
    """Every scheduled job, in the catalogue's order. Read inside a transaction."""
    latest = job_queries.list_latest_runs(conn)
    found = []
    for job in catalogue.SCHEDULED:
        interval = job.interval(settings)
        if interval is None:
            continue
        row = latest.get(job.name)
        # The scheduler's own interval, as it recorded it, wins over this process's settings.
        if row and row["interval_seconds"]:
            interval = float(row["interval_seconds"])
        last = (
            LastRun(
                row["started_at"],
                row["finished_at"],
                row["rows_affected"],
                row["result"],
                row["error"],
            )
            if row
            else None
        )
        next_due = last.started_at + timedelta(seconds=interval) if last else None
        found.append(JobStatus(job.name, job.purpose, interval, last, next_due))
    return found
