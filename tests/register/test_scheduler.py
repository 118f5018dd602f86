"""The scheduler: one active however many run, standby and takeover, lost locks, failures."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from register.jobs import catalogue
from register.jobs.catalogue import Job
from register.jobs.outcome import Outcome
from register.jobs.scheduler import SCHEDULER_LOCK_KEY, Scheduler
from register.platform.config import Settings
from register.queries import Conn
from register.stack.runtime import free_port
from tests.conftest import wait_until

INTERVAL = 3.0


def scheduler_env(settings: Settings, metrics_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMPLIGHTER_")}
    env["LAMPLIGHTER_DATABASE_URL"] = settings.database_url
    for name in ("RETENTION", "SILENCE", "QUARANTINE", "COMPLIANCE", "HISTORY"):
        env[f"LAMPLIGHTER_JOBS_{name}_INTERVAL"] = str(INTERVAL)
    env["LAMPLIGHTER_JOBS_STANDBY_POLL"] = "0.3"
    env["LAMPLIGHTER_JOBS_METRICS_PORT"] = str(metrics_port)
    return env


def is_active(metrics_port: int) -> bool:
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return False
    return "lamplighter_jobs_active 1.0" in text


def runs_since(conn: Conn, since: datetime) -> dict[str, list[datetime]]:
    with conn.transaction():
        rows = conn.execute(
            "SELECT job, started_at FROM job_runs WHERE started_at >= %s ORDER BY started_at",
            (since,),
        ).fetchall()
    found: dict[str, list[datetime]] = {}
    for job, started_at in rows:
        found.setdefault(job, []).append(started_at)
    return found


def database_now(conn: Conn) -> datetime:
    with conn.transaction():
        row = conn.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


@pytest.fixture
def two_schedulers(
    migrated_settings: Settings,
) -> Iterator[list[tuple[subprocess.Popen[str], int]]]:
    started = []
    for _ in range(2):
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "register.platform.cli", "jobs"],
            env=scheduler_env(migrated_settings, port),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append((process, port))
    try:
        yield started
    finally:
        for process, _ in started:
            if process.poll() is None:
                process.terminate()
            output, _ = process.communicate(timeout=15)
            sys.stdout.write(output)  # shown when the test fails


def test_two_schedulers_run_each_job_once_per_interval_and_a_standby_takes_over_from_a_killed_one(
    conn: Conn, two_schedulers: list[tuple[subprocess.Popen[str], int]]
) -> None:
    ports = [port for _, port in two_schedulers]
    wait_until(lambda: any(is_active(p) for p in ports), timeout=30, what="a scheduler to start")
    assert sum(is_active(p) for p in ports) == 1
    window_start = database_now(conn)
    time.sleep(4 * INTERVAL)
    window = runs_since(conn, window_start)
    # Four intervals: one scheduler runs each job four or five times; two would run it twice
    # as often.
    for job in catalogue.SCHEDULED:
        assert 3 <= len(window.get(job.name, [])) <= 5, (job.name, window)

    active, standby = sorted(two_schedulers, key=lambda started: not is_active(started[1]))
    assert is_active(active[1]) and not is_active(standby[1])
    active[0].send_signal(signal.SIGKILL)
    active[0].wait(10)
    killed_at = database_now(conn)
    wait_until(lambda: is_active(standby[1]), timeout=INTERVAL * 2, what="the standby to take over")
    after = wait_until(
        lambda: (
            runs
            if all(job.name in (runs := runs_since(conn, killed_at)) for job in catalogue.SCHEDULED)
            else None
        ),
        timeout=INTERVAL * 2,
        what="every job to run again",
    )
    first_runs = [after[job.name][0] for job in catalogue.SCHEDULED]
    assert max((moment - killed_at).total_seconds() for moment in first_runs) < INTERVAL


def in_process_settings(settings: Settings, **jobs: Any) -> Settings:
    values = {"standby_poll": 0.2, "metrics_port": 0, **jobs}
    return dataclasses.replace(settings, jobs=dataclasses.replace(settings.jobs, **values))


@pytest.fixture
def counted_runs() -> list[float]:
    return []


def running(scheduler: Scheduler) -> threading.Thread:
    thread = threading.Thread(target=scheduler.run, daemon=True)
    thread.start()
    return thread


def stop(scheduler: Scheduler, thread: threading.Thread) -> None:
    scheduler.stopping.set()
    thread.join(10)
    assert not thread.is_alive()


def test_a_scheduler_that_loses_its_lock_connection_stops_scheduling_at_once(
    conn: Conn, migrated_settings: Settings
) -> None:
    calls: list[float] = []

    def count(conn: Conn, settings: Settings) -> Outcome:
        calls.append(time.monotonic())
        return Outcome(0, "")

    job = Job("counting", count, "counts its runs", lambda jobs: jobs.silence_interval)
    scheduler = Scheduler(in_process_settings(migrated_settings, silence_interval=0.3), (job,))
    thread = running(scheduler)
    try:
        wait_until(scheduler.holding.is_set, what="the scheduler to take the lock")
        wait_until(lambda: len(calls) >= 2, what="two runs")
        conn.autocommit = True
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'lamplighter-jobs-lock' AND datname = current_database()"
        )
        # Take the lock the moment the terminated session lets it go, so that the scheduler
        # cannot take it back.
        wait_until(
            lambda: (
                conn.execute("SELECT pg_try_advisory_lock(%s)", (SCHEDULER_LOCK_KEY,)).fetchone()
                == (True,)
            ),
            what="the test to take the released lock",
        )
        wait_until(lambda: not scheduler.holding.is_set(), timeout=3, what="the scheduler to stop")
        stopped_with = len(calls)
        time.sleep(1.5)  # five intervals
        assert len(calls) <= stopped_with + 1  # at most a run already under way
        assert scheduler.metrics.value("lamplighter_jobs_active") == 0

        conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEDULER_LOCK_KEY,))
        wait_until(scheduler.holding.is_set, what="the scheduler to take the lock again")
        resumed_from = len(calls)
        wait_until(lambda: len(calls) >= resumed_from + 2, what="runs to resume")
    finally:
        stop(scheduler, thread)


def test_a_failing_run_is_recorded_and_logged_and_the_scheduler_carries_on(
    conn: Conn, migrated_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(conn: Conn, settings: Settings) -> Outcome:
        conn.execute("SELECT 1 / 0")
        return Outcome(0, "")

    def succeed(conn: Conn, settings: Settings) -> Outcome:
        return Outcome(3, "3 things done")

    jobs = (
        Job("failing", fail, "always fails", lambda jobs: jobs.silence_interval),
        Job("succeeding", succeed, "always works", lambda jobs: jobs.silence_interval),
    )
    scheduler = Scheduler(in_process_settings(migrated_settings, silence_interval=0.3), jobs)
    thread = running(scheduler)
    try:

        def recorded() -> list[tuple[Any, ...]] | None:
            with conn.transaction():
                rows = conn.execute(
                    "SELECT job, rows_affected, result, error FROM job_runs"
                    " WHERE finished_at IS NOT NULL ORDER BY id"
                ).fetchall()
            failed = [r for r in rows if r[0] == "failing"]
            done = [r for r in rows if r[0] == "succeeding"]
            return rows if len(failed) >= 3 and len(done) >= 3 else None

        rows = wait_until(recorded, what="three runs of each job")
    finally:
        stop(scheduler, thread)
    for job, rows_affected, result, error in rows:
        if job == "failing":
            assert (rows_affected, result) == (None, None)
            assert error == "DivisionByZero: division by zero"
        else:
            assert (rows_affected, result, error) == (3, "3 things done", None)
    assert scheduler.metrics.value("lamplighter_job_failures_total", {"job": "failing"}) >= 3
    assert scheduler.metrics.value("lamplighter_job_rows_total", {"job": "succeeding"}) >= 9
    assert "job failing failed" in caplog.text


def test_while_the_database_is_unreachable_the_jobs_wait_and_nothing_crashes(
    migrated_settings: Settings,
) -> None:
    closed_port = free_port()
    unreachable = dataclasses.replace(
        migrated_settings,
        database=dataclasses.replace(
            migrated_settings.database,
            url=f"postgresql://lamplighter@127.0.0.1:{closed_port}/lamplighter",
            connect_timeout=1,
        ),
    )
    scheduler = Scheduler(in_process_settings(unreachable))
    # A run that the scheduler had queued when the database went away.
    scheduler.holding.set()
    job = catalogue.find("purge_quarantine")
    assert job is not None
    assert scheduler.execute(job) is None
    assert scheduler.metrics.value("lamplighter_job_failures_total", {"job": job.name}) == 1
    scheduler.holding.clear()
    thread = running(scheduler)
    time.sleep(1.0)
    assert thread.is_alive() and not scheduler.holding.is_set()
    stop(scheduler, thread)


def test_a_run_that_the_connection_fails_under_is_not_recorded_as_done(
    conn: Conn, migrated_settings: Settings
) -> None:
    """A lost connection in the middle of a run leaves the run unfinished, never 'done'."""

    def lose_connection(job_conn: Conn, settings: Settings) -> Outcome:
        job_conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return Outcome(0, "")

    scheduler = Scheduler(in_process_settings(migrated_settings))
    scheduler.holding.set()
    assert scheduler.execute(Job("losing", lose_connection, "loses its connection")) is None
    with conn.transaction():
        assert conn.execute("SELECT finished_at FROM job_runs WHERE job = 'losing'").fetchall() == [
            (None,)
        ]
