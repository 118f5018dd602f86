"""SQL for the record of job runs (`job_runs`, `retention_deletions`)."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from register.queries import Conn, returned_id


def insert_run(conn: Conn, job: str, started_at: datetime, interval: float | None) -> int:
    return returned_id(
        conn.execute(
            "INSERT INTO job_runs (job, started_at, interval_seconds) VALUES (%s, %s, %s)"
            " RETURNING id",
            (job, started_at, interval),
        ).fetchone()
    )


# Each job's own advisory lock: (this namespace, a number from its name), in the two-integer
# key space, apart from the scheduler's lock.
JOB_LOCK_NAMESPACE = 0x4C4A4F42


def _job_key(job: str) -> tuple[int, int]:
    number = zlib.crc32(job.encode()) - (1 << 31)  # into PostgreSQL's integer range
    return JOB_LOCK_NAMESPACE, number


def try_lock_job(conn: Conn, job: str) -> bool:
    """Take the job's session-level advisory lock if no other session holds it."""
    row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", _job_key(job)).fetchone()
    return bool(row and row[0])


def unlock_job(conn: Conn, job: str) -> None:
    conn.execute("SELECT pg_advisory_unlock(%s, %s)", _job_key(job))


def use_utc(conn: Conn) -> None:
    """Count this session's times in UTC: a day is then always 24 hours."""
    conn.execute("SET TimeZone = 'UTC'")


def finish_run(
    conn: Conn,
    run_id: int,
    finished_at: datetime,
    *,
    rows_affected: int | None,
    result: str | None,
    error: str | None,
) -> None:
    conn.execute(
        "UPDATE job_runs SET finished_at = %s, rows_affected = %s, result = %s, error = %s"
        " WHERE id = %s",
        (finished_at, rows_affected, result, error, run_id),
    )


def insert_retention_deletions(
    conn: Conn, run_id: int, deleted: Mapping[tuple[int, int], int]
) -> None:
    counted = [(key, count) for key, count in deleted.items() if count > 0]
    conn.execute(
        "INSERT INTO retention_deletions (run_id, device_id, metric_id, deleted)"
        " SELECT %s, * FROM unnest(%s::integer[], %s::integer[], %s::bigint[])",
        (
            run_id,
            [device_id for (device_id, _), _ in counted],
            [metric_id for (_, metric_id), _ in counted],
            [count for _, count in counted],
        ),
    )


def list_latest_runs(conn: Conn) -> dict[str, dict[str, Any]]:
    """Each job's latest finished run, by job name."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            """
            SELECT DISTINCT ON (job) job, id, started_at, finished_at, interval_seconds,
                   rows_affected, result, error
            FROM job_runs
            WHERE finished_at IS NOT NULL
            ORDER BY job, started_at DESC
            """
        ).fetchall()
    return {row["job"]: row for row in rows}


def try_lock(conn: Conn, key: int) -> bool:
    """Take a session-level advisory lock if it is free; True when this session now holds it."""
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
    return bool(row and row[0])


def ping(conn: Conn) -> None:
    """A round trip to the server: raises when the connection is lost."""
    conn.execute("SELECT 1")


# Runs that started before a time, except each job's latest run.
_OLD_RUN = """
    r.started_at < %(older_than)s AND r.id <> (SELECT max(id) FROM job_runs l WHERE l.job = r.job)
"""


def delete_old_deletion_records(conn: Conn, older_than: datetime, limit: int) -> int:
    """Delete up to `limit` per-metric records of runs older than `older_than` (never of a
    job's latest run); how many went."""
    return conn.execute(
        """DELETE FROM retention_deletions WHERE ctid = ANY(ARRAY(
               SELECT d.ctid FROM retention_deletions d JOIN job_runs r ON r.id = d.run_id
               WHERE """
        + _OLD_RUN
        + """ LIMIT %(limit)s))""",
        {"older_than": older_than, "limit": limit},
    ).rowcount


def delete_old_runs(conn: Conn, older_than: datetime, limit: int) -> int:
    """Delete up to `limit` runs older than `older_than`, never a job's latest; how many went.
    Their per-metric records go with them (delete those first, in bounded batches)."""
    return conn.execute(
        "DELETE FROM job_runs WHERE id = ANY(ARRAY(SELECT r.id FROM job_runs r WHERE "
        + _OLD_RUN
        + " ORDER BY r.id LIMIT %(limit)s))",
        {"older_than": older_than, "limit": limit},
    ).rowcount
