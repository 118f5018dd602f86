"""`lamplighter jobs`: run the scheduled jobs at their intervals, with exactly one scheduler
active however many processes run.

Each process opens a dedicated connection (not from a pool, with TCP keepalives) and tries to
take a PostgreSQL advisory lock on it. The one that holds the lock schedules every job with
APScheduler, starting with one run of each at once; the others stand by and try again every
`jobs.standby_poll` seconds. When the active process dies, PostgreSQL ends its session and
releases the lock, and a standby takes over at its next try.

The active process checks its lock connection every second. The moment the connection is lost
(a database restart, a network cut noticed by the keepalives, or a terminated backend) it stops
scheduling and stands by like the others: two schedulers never run at once for longer than
that check. A run already under way when the lock is lost finishes; every job is safe to run
twice.

Each run opens a connection of its own. While the database is unreachable a run is counted as
failed and logged, and the job is tried again at its next interval; nothing crashes.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

import psycopg
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from register.jobs import catalogue, runs
from register.jobs.catalogue import Job
from register.jobs.metrics import JobMetrics
from register.platform import db
from register.platform.config import Settings
from register.platform.db import DatabaseError
from register.queries import jobs as job_queries

log = logging.getLogger(__name__)

# Any constant works; it only has to be the same for every scheduler of this database.
SCHEDULER_LOCK_KEY = 0x4C4A4F42
LOCK_CHECK_SECONDS = 1.0
# The server's side of the lock connection: without these, a host that vanishes (no FIN, no
# RST) would keep its lock for the kernel's default of about two hours.
SERVER_KEEPALIVES = (
    "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=2"
    " -c tcp_user_timeout=20000"
)


class Scheduler:
    """One `lamplighter jobs` process: standby until it holds the lock, then active."""

    def __init__(self, settings: Settings, jobs: tuple[Job, ...] = catalogue.SCHEDULED) -> None:
        self.settings = settings
        self.jobs = jobs
        self.metrics = JobMetrics()
        self.stopping = threading.Event()
        # Set while this process holds the lock: a run that starts after it is cleared is
        # skipped, whatever APScheduler had queued.
        self.holding = threading.Event()

    def run(self) -> None:
        """Stand by or schedule, until `stopping` is set."""
        server = None
        if self.settings.jobs.metrics_port:
            try:
                server = self.metrics.serve(
                    self.settings.jobs.metrics_host, self.settings.jobs.metrics_port
                )
            except OSError as error:
                # The jobs matter more than their counters: run them anyway.
                log.error("no metrics endpoint for Prometheus: %s", error)
        try:
            while not self.stopping.is_set():
                lock_conn = self._take_lock()
                if lock_conn is None:
                    self.stopping.wait(self.settings.jobs.standby_poll)
                    continue
                try:
                    self._schedule_while_holding(lock_conn)
                finally:
                    lock_conn.close()
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()

    def _take_lock(self) -> psycopg.Connection[Any] | None:
        """A connection that holds the scheduler lock, or None (standby)."""
        try:
            conn = db.connect(
                self.settings,
                autocommit=True,
                application_name="lamplighter-jobs-lock",
                # The server notices a dead client as soon, and frees the lock for a standby.
                options=SERVER_KEEPALIVES,
                **db.KEEPALIVES,
            )
        except DatabaseError as error:
            log.warning("standing by: %s", error)
            return None
        try:
            if job_queries.try_lock(conn, SCHEDULER_LOCK_KEY):
                return conn
        except psycopg.OperationalError as error:
            log.warning("standing by: %s", str(error).strip())
        conn.close()
        return None

    def _schedule_while_holding(self, lock_conn: psycopg.Connection[Any]) -> None:
        log.info("holding the scheduler lock: scheduling %d jobs", len(self.jobs))
        self.holding.set()
        self.metrics.active.set(1)
        scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max(1, len(self.jobs)))},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        now = datetime.now(UTC)
        for job in self.jobs:
            interval = job.interval(self.settings)
            if interval is None:
                continue
            scheduler.add_job(
                self.execute,
                "interval",
                seconds=interval,
                args=[job],
                id=job.name,
                next_run_time=now,
            )
        scheduler.start()
        try:
            while not self.stopping.wait(LOCK_CHECK_SECONDS):
                if not _still_connected(lock_conn):
                    log.warning("lost the scheduler lock's connection: standing by")
                    break
        finally:
            self.holding.clear()
            self.metrics.active.set(0)
            scheduler.shutdown(wait=False)

    def execute(self, job: Job) -> runs.Run | None:
        """Run one job now on a connection of its own, and count it; None when it could not
        run (not holding the lock, or the database unreachable)."""
        if not self.holding.is_set():
            return None
        labels = {"job": job.name}
        self.metrics.runs.labels(**labels).inc()
        try:
            with db.connect(
                self.settings, application_name=f"lamplighter-job-{job.name}", **db.KEEPALIVES
            ) as conn:
                done = runs.run(conn, self.settings, job, interval=job.interval(self.settings))
        except runs.AlreadyRunning as busy:
            # A run by hand, or one this process left under way when it lost the lock.
            log.info("%s; skipped until the next interval", busy)
            return None
        except (DatabaseError, psycopg.OperationalError) as error:
            self.metrics.failures.labels(**labels).inc()
            log.warning("%s did not run: %s; trying again at the next interval", job.name, error)
            return None
        if done.error is not None or done.outcome is None:
            self.metrics.failures.labels(**labels).inc()
        else:
            self.metrics.rows.labels(**labels).inc(done.outcome.rows)
            self.metrics.duration.labels(**labels).observe(done.seconds)
        log.info("%s", done.line)
        return done


def _still_connected(conn: psycopg.Connection[Any]) -> bool:
    try:
        job_queries.ping(conn)
    except psycopg.Error:
        return False
    return True
