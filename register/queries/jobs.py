"""SQL for the record of job runs (`job_runs`, `retention_deletions`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from register.queries import Conn, returned_id


def insert_run(conn: Conn, job: str, started_at: datetime) -> int:
    return returned_id(
        conn.execute(
            "INSERT INTO job_runs (job, started_at) VALUES (%s, %s) RETURNING id", (job, started_at)
        ).fetchone()
    )


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
    rows: Iterable[tuple[int, int, int, int]] = (
        (run_id, device_id, metric_id, count)
        for (device_id, metric_id), count in deleted.items()
        if count > 0
    )
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO retention_deletions (run_id, device_id, metric_id, deleted)"
            " VALUES (%s, %s, %s, %s)",
            list(rows),
        )


def list_latest_runs(conn: Conn) -> dict[str, dict[str, Any]]:
    """Each job's latest finished run, by job name."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            """
            SELECT DISTINCT ON (job) job, id, started_at, finished_at, rows_affected, result, error
            FROM job_runs
            WHERE finished_at IS NOT NULL
            ORDER BY job, started_at DESC
            """
        ).fetchall()
    return {row["job"]: row for row in rows}


def list_runs(conn: Conn, job: str, limit: int) -> list[dict[str, Any]]:
    """A job's latest runs, newest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT id, job, started_at, finished_at, rows_affected, result, error"
            " FROM job_runs WHERE job = %s ORDER BY started_at DESC LIMIT %s",
            (job, limit),
        ).fetchall()


def list_retention_deletions(conn: Conn, run_id: int) -> dict[tuple[int, int], int]:
    rows = conn.execute(
        "SELECT device_id, metric_id, deleted FROM retention_deletions WHERE run_id = %s",
        (run_id,),
    ).fetchall()
    return {(device_id, metric_id): deleted for device_id, metric_id, deleted in rows}


def try_lock(conn: Conn, key: int) -> bool:
    """Take a session-level advisory lock if it is free; True when this session now holds it."""
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
    return bool(row and row[0])


def ping(conn: Conn) -> None:
    """A round trip to the server: raises when the connection is lost."""
    conn.execute("SELECT 1")


def list_runs_to_prune(conn: Conn, older_than: datetime, limit: int) -> list[int]:
    """Runs that started before `older_than`, oldest first, except each job's latest run."""
    rows = conn.execute(
        """
        SELECT id FROM job_runs r
        WHERE started_at < %s
          AND id <> (SELECT max(id) FROM job_runs l WHERE l.job = r.job)
        ORDER BY id LIMIT %s
        """,
        (older_than, limit),
    ).fetchall()
    return [run_id for (run_id,) in rows]


def delete_runs(conn: Conn, run_ids: list[int]) -> int:
    """Delete these runs and what they recorded; how many records went, runs included."""
    deletions = conn.execute(
        "DELETE FROM retention_deletions WHERE run_id = ANY(%s)", (run_ids,)
    ).rowcount
    runs = conn.execute("DELETE FROM job_runs WHERE id = ANY(%s)", (run_ids,)).rowcount
    return deletions + runs
