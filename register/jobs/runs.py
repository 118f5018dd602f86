"""Run one job now, and record the run: its start, its end, the rows it affected and what it
did, or its error. A failed run is recorded and logged, and never raised: the scheduler tries
again at the next interval."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from register.jobs.catalogue import Job
from register.jobs.outcome import Outcome
from register.platform.config import Settings
from register.platform.db import transaction
from register.queries import Conn
from register.queries import jobs as job_queries

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Run:
    id: int
    job: str
    started_at: datetime
    finished_at: datetime
    outcome: Outcome | None
    error: str | None

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def line(self) -> str:
        """The run in one line, for the command line and the log."""
        if self.error is not None or self.outcome is None:
            return f"{self.job} failed after {self.seconds:.1f} s: {self.error}"
        said = self.outcome.summary or "nothing to do"
        return f"{self.job}: {said} ({self.seconds:.1f} s)"


class AlreadyRunning(Exception):
    """Another session is running the same job now: two runs of a job never overlap."""


def run(conn: Conn, settings: Settings, job: Job, *, interval: float | None = None) -> Run:
    """Run the job on this connection (outside any transaction) and record it, with the
    interval it is scheduled at (None for a run by hand).

    A job's own error, a database error included, is recorded with the run. Only a lost
    connection, which leaves nowhere to record anything, is raised (psycopg.OperationalError),
    and AlreadyRunning when another session holds the job's lock.
    """
    with transaction(conn):
        # Days in a job's interval arithmetic are 24 hours, as everywhere else in Lamplighter.
        job_queries.use_utc(conn)
    held = job_queries.try_lock_job(conn, job.name)
    conn.commit()  # the lock is the session's; what the job does commits on its own
    if not held:
        raise AlreadyRunning(f"{job.name} is already running in another session")
    try:
        return _run_holding_lock(conn, settings, job, interval)
    finally:
        if not conn.broken and not conn.closed:
            conn.rollback()
            job_queries.unlock_job(conn, job.name)
            conn.commit()


def _run_holding_lock(conn: Conn, settings: Settings, job: Job, interval: float | None) -> Run:
    started_at = datetime.now(UTC)
    with transaction(conn):
        run_id = job_queries.insert_run(conn, job.name, started_at, interval)
    outcome: Outcome | None = None
    error: str | None = None
    try:
        outcome = job.run(conn, settings)
    except Exception as failure:  # any job error is recorded, never fatal
        if conn.broken or conn.closed:
            raise
        conn.rollback()
        error = _one_line(failure)
        log.exception("job %s failed", job.name)
    finished_at = datetime.now(UTC)
    with transaction(conn):
        job_queries.finish_run(
            conn,
            run_id,
            finished_at,
            rows_affected=outcome.rows if outcome else None,
            result=outcome.summary if outcome else None,
            error=error,
        )
        if outcome and outcome.deleted_by_metric:
            job_queries.insert_retention_deletions(conn, run_id, outcome.deleted_by_metric)
    return Run(run_id, job.name, started_at, finished_at, outcome, error)


def _one_line(failure: Exception) -> str:
    text = str(failure).strip().splitlines()
    return f"{type(failure).__name__}: {text[0] if text else 'no message'}"[:500]
