"""The register's jobs, called directly as plain functions, and `lamplighter jobs run|list`."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from register.jobs import catalogue, runs
from register.jobs.catalogue import Job
from register.jobs.outcome import Outcome
from register.jobs.quarantine import purge_quarantine
from register.platform import db
from register.platform.config import Settings
from register.queries import Conn
from register.queries import jobs as job_queries
from tests.conftest import run_cli
from tests.register.factories import add_device, add_organisation
from tests.register.test_imports import seed


def test_the_jobs_after_an_upgrade_store_missing_export_rows_once(
    conn: Conn, migrated_settings: Settings
) -> None:
    seed(conn)
    with conn.transaction():
        conn.execute("DELETE FROM device_exports")
    conn.commit()  # a job runs outside any transaction, as the commands run it
    assert catalogue.run_after_upgrade(conn, migrated_settings) == [
        "stored the export rows of 4 devices"
    ]
    with conn.transaction():
        assert conn.execute("SELECT count(*) FROM device_exports").fetchone() == (4,)
    assert catalogue.run_after_upgrade(conn, migrated_settings) == []


def quarantine_at(conn: Conn, received_at: datetime, reason: str, device_id: int | None) -> None:
    conn.execute(
        "INSERT INTO quarantine (received_at, source, topic, payload, payload_size, reason,"
        " message, device_id) VALUES (%s, 'native', 't', 'x', 1, %s, 'refused', %s)",
        (received_at, reason, device_id),
    )


def test_purge_quarantine_deletes_exactly_the_records_past_the_kept_days_and_keeps_their_counts(
    conn: Conn, migrated_settings: Settings
) -> None:
    add_organisation(conn)
    device_id = add_device(conn)
    now = datetime.now(UTC)
    keep = dataclasses.replace(migrated_settings.jobs, quarantine_keep_days=3)
    settings = dataclasses.replace(migrated_settings, jobs=keep)
    ages_in_hours = [1, 47, 71, 73, 100, 100, 200]
    with conn.transaction():
        for hours in ages_in_hours:
            quarantine_at(conn, now - timedelta(hours=hours), "undeclared_metric", device_id)
        quarantine_at(conn, now - timedelta(hours=100), "unknown_device", None)
        quarantine_at(conn, now - timedelta(hours=100), "wrong_unit", device_id)

    outcome = purge_quarantine(conn, settings)

    assert outcome.rows == 6  # four undeclared, one wrong unit, one from an unknown device
    assert outcome.summary == "6 refused messages older than 3 days deleted"
    with conn.transaction():
        kept = conn.execute("SELECT received_at FROM quarantine ORDER BY received_at").fetchall()
        counted = conn.execute(
            "SELECT day, reason, refused FROM refusals_by_day WHERE device_id = %s"
            " ORDER BY day, reason",
            (device_id,),
        ).fetchall()
    assert [round((now - at).total_seconds() / 3600) for (at,) in kept] == [71, 47, 1]
    expected: dict[tuple[object, str], int] = {}
    for hours, reason in [
        (73, "undeclared_metric"),
        (100, "undeclared_metric"),
        (100, "undeclared_metric"),
        (200, "undeclared_metric"),
        (100, "wrong_unit"),
    ]:
        day = (now - timedelta(hours=hours)).astimezone(UTC).date()
        expected[(day, reason)] = expected.get((day, reason), 0) + 1
    assert counted == [(day, reason, n) for (day, reason), n in sorted(expected.items())]
    assert purge_quarantine(conn, settings).rows == 0


def test_a_recorded_run_keeps_its_start_end_rows_and_result(
    conn: Conn, migrated_settings: Settings
) -> None:
    job = catalogue.find("purge_quarantine")
    assert job is not None
    with conn.transaction():
        quarantine_at(conn, datetime.now(UTC) - timedelta(days=30), "unknown_device", None)
    done = runs.run(conn, migrated_settings, job)
    assert done.error is None and done.outcome is not None and done.outcome.rows == 1
    with conn.transaction():
        row = conn.execute(
            "SELECT job, started_at, finished_at, rows_affected, result, error FROM job_runs"
        ).fetchone()
    assert row == (
        "purge_quarantine",
        done.started_at,
        done.finished_at,
        1,
        "1 refused messages older than 7 days deleted",
        None,
    )


def test_jobs_run_prints_one_line_or_json_and_jobs_list_shows_each_job_and_its_last_run(
    migrated_settings: Settings,
) -> None:
    env = {"LAMPLIGHTER_DATABASE_URL": migrated_settings.database_url}
    said = run_cli("jobs", "run", "purge_quarantine", env=env)
    assert said.returncode == 0, said.stderr
    assert said.stdout.startswith("purge_quarantine: nothing to do (")
    as_json = run_cli("jobs", "run", "purge_quarantine", "--json", env=env)
    assert as_json.returncode == 0, as_json.stderr
    result = json.loads(as_json.stdout)
    assert (result["job"], result["ok"], result["rows"], result["error"]) == (
        "purge_quarantine",
        True,
        0,
        None,
    )
    assert result["details"]["deleted"] == 0

    listed = run_cli("jobs", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines[1:]] == [j.name for j in catalogue.SCHEDULED]
    purge_line = next(line for line in lines if line.startswith("purge_quarantine"))
    assert purge_line.split("  ")[1].strip() == "1 hour"
    assert "s ago" in purge_line and "nothing to do" in purge_line
    assert next(line for line in lines if line.startswith("mark_silent")).endswith("never")


def test_jobs_run_refuses_an_unknown_job(migrated_settings: Settings) -> None:
    said = run_cli("jobs", "run", "delete_everything")
    assert said.returncode == 2
    assert "invalid choice: 'delete_everything'" in said.stderr


def test_prune_history_deletes_old_runs_and_their_records_but_keeps_each_jobs_latest_run(
    conn: Conn, migrated_settings: Settings
) -> None:
    add_organisation(conn)
    device_id = add_device(conn)
    now = datetime.now(UTC)
    with conn.transaction():
        (metric_id,) = conn.execute(
            "SELECT id FROM device_metrics WHERE device_id = %s LIMIT 1", (device_id,)
        ).fetchone() or (None,)
        for job, days_ago in [
            ("enforce_retention", 9),
            ("enforce_retention", 5),
            ("enforce_retention", 1),
            ("compliance", 30),  # its only run: kept
        ]:
            (run_id,) = conn.execute(
                "INSERT INTO job_runs (job, started_at, finished_at, rows_affected)"
                " VALUES (%s, %s, %s, 1) RETURNING id",
                (job, now - timedelta(days=days_ago), now - timedelta(days=days_ago)),
            ).fetchone() or (None,)
            if job == "enforce_retention":
                conn.execute(
                    "INSERT INTO retention_deletions (run_id, device_id, metric_id, deleted)"
                    " VALUES (%s, %s, %s, 1)",
                    (run_id, device_id, metric_id),
                )
    jobs = dataclasses.replace(migrated_settings.jobs, history_days=3)
    outcome = catalogue.find("prune_history").run(  # type: ignore[union-attr]
        conn, dataclasses.replace(migrated_settings, jobs=jobs)
    )
    assert outcome.rows == 4  # two runs, and one deletion record of each
    with conn.transaction():
        left = conn.execute(
            "SELECT job, round(extract(epoch FROM %s - started_at) / 86400)::int FROM job_runs"
            " ORDER BY started_at",
            (now,),
        ).fetchall()
        records = conn.execute("SELECT count(*) FROM retention_deletions").fetchone()
    assert left == [("compliance", 30), ("enforce_retention", 1)]
    assert records == (1,)


def test_a_database_error_inside_a_job_is_recorded_as_a_failed_run(
    conn: Conn, migrated_settings: Settings
) -> None:
    def give_way(job_conn: Conn, settings: Settings) -> Outcome:
        raise psycopg.errors.LockNotAvailable("canceling statement due to lock timeout")

    done = runs.run(conn, migrated_settings, Job("giving_way", give_way, "gives way"))
    assert done.error == "LockNotAvailable: canceling statement due to lock timeout"
    with conn.transaction():
        assert conn.execute(
            "SELECT error IS NOT NULL, finished_at IS NOT NULL FROM job_runs"
        ).fetchall() == [(True, True)]


def test_two_runs_of_one_job_never_overlap(conn: Conn, migrated_settings: Settings) -> None:
    with db.connect(migrated_settings, autocommit=True) as holder:
        assert job_queries.try_lock_job(holder, "purge_quarantine")
        job = catalogue.find("purge_quarantine")
        assert job is not None
        with pytest.raises(runs.AlreadyRunning, match="purge_quarantine is already running"):
            runs.run(conn, migrated_settings, job)
        env = {"LAMPLIGHTER_DATABASE_URL": migrated_settings.database_url}
        said = run_cli("jobs", "run", "purge_quarantine", env=env)
        assert said.returncode == 1
        assert "purge_quarantine is already running in another session" in said.stderr
        job_queries.unlock_job(holder, "purge_quarantine")
    assert runs.run(conn, migrated_settings, job).error is None
    with conn.transaction():
        assert conn.execute("SELECT count(*) FROM job_runs").fetchone() == (1,)
