"""The public system page: each scheduled job's interval, last run and result, and next run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient

from register.jobs import catalogue
from register.platform import db
from register.platform.config import Settings
from register.queries import Conn


def record_run(
    conn: Conn,
    job: str,
    finished_ago: timedelta,
    *,
    rows: int | None = None,
    result: str | None = None,
    error: str | None = None,
) -> None:
    finished_at = datetime.now(UTC) - finished_ago
    conn.execute(
        "INSERT INTO job_runs (job, started_at, finished_at, rows_affected, result, error)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (job, finished_at - timedelta(seconds=2), finished_at, rows, result, error),
    )


def test_the_system_page_shows_each_jobs_last_run_result_and_next_run(
    client: FlaskClient, web_settings: Settings
) -> None:
    with db.connect(web_settings) as conn, conn.transaction():
        record_run(
            conn, "enforce_retention", timedelta(hours=3), rows=5, result="5 readings deleted"
        )
        record_run(
            conn,
            "enforce_retention",
            timedelta(minutes=12),
            rows=48211,
            result="48,211 readings deleted",
        )
        record_run(conn, "purge_quarantine", timedelta(minutes=30), error="OperationalError: gone")
        record_run(conn, "compliance", timedelta(hours=2), rows=10, result="figures for 3 devices")

    twin = client.get("/system.json").get_json()
    jobs = {job["name"]: job for job in twin["jobs"]}
    assert list(jobs) == [job.name for job in catalogue.SCHEDULED]

    retention = jobs["enforce_retention"]
    assert retention["interval_text"] == "every 15 minutes"
    assert retention["last_run_text"] == (
        "Retention last enforced 12 minutes ago: 48,211 readings deleted."
    )
    assert retention["last_run"]["rows_affected"] == 48211 and retention["last_run"]["ok"]
    assert retention["next_run_text"] == "Next run in 2 minutes."
    assert not retention["overdue"]

    purge = jobs["purge_quarantine"]
    assert purge["last_run"]["ok"] is False
    assert purge["last_run_text"] == (
        "Refused messages last purged 30 minutes ago: the run failed (OperationalError: gone); "
        "it is tried again every 1 hour."
    )
    assert jobs["mark_silent"]["last_run"] is None
    assert jobs["mark_silent"]["last_run_text"] == "Devices last checked for silence: never yet."
    # Due every 5 minutes, last run 2 hours ago: no scheduler is running it.
    assert jobs["compliance"]["overdue"] and twin["all_on_time"] is False

    html = client.get("/system").get_data(as_text=True)
    assert "Retention last enforced 12 minutes ago: 48,211 readings deleted." in html
    assert "Some jobs are overdue" in html
    assert "Overdue: no scheduler has run it for more than one interval." in html


def test_the_system_page_before_any_job_has_run(client: FlaskClient) -> None:
    twin = client.get("/system.json").get_json()
    assert [job["last_run"] for job in twin["jobs"]] == [None] * len(catalogue.SCHEDULED)
    assert {job["next_run_text"] for job in twin["jobs"]} == {
        "It runs as soon as the scheduler starts."
    }
    assert twin["all_on_time"] is True
    assert client.get("/system").status_code == 200


def test_the_system_page_tells_the_interval_the_scheduler_recorded_not_its_own_settings(
    client: FlaskClient, web_settings: Settings
) -> None:
    with db.connect(web_settings) as conn, conn.transaction():
        finished_at = datetime.now(UTC) - timedelta(seconds=30)
        conn.execute(
            "INSERT INTO job_runs (job, started_at, finished_at, interval_seconds, rows_affected)"
            " VALUES ('mark_silent', %s, %s, 120, 0)",
            (finished_at - timedelta(seconds=1), finished_at),
        )
    jobs = {job["name"]: job for job in client.get("/system.json").get_json()["jobs"]}
    assert jobs["mark_silent"]["interval_text"] == "every 2 minutes"  # the settings say 1
    assert jobs["mark_silent"]["next_run_text"] == "Next run in 1 minute."
