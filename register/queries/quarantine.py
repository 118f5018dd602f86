"""SQL for purging quarantine and counting refused data."""

from __future__ import annotations

from datetime import datetime

from register.queries import Conn


def purge_quarantine_batch(conn: Conn, older_than: datetime, limit: int) -> int:
    """Delete up to `limit` quarantine records received before `older_than`, adding them to the
    daily refusal counts first (in the same statement); how many were deleted."""
    row = conn.execute(
        """
        WITH gone AS (
            DELETE FROM quarantine
            WHERE id IN (SELECT id FROM quarantine WHERE received_at < %(older_than)s
                         ORDER BY received_at LIMIT %(limit)s)
            RETURNING received_at, device_id, reason
        ), counted AS (
            INSERT INTO refusals_by_day AS r (day, device_id, reason, refused)
            SELECT (received_at AT TIME ZONE 'UTC')::date, device_id, reason, count(*)
            FROM gone WHERE device_id IS NOT NULL
            GROUP BY 1, 2, 3
            ON CONFLICT (day, device_id, reason)
                DO UPDATE SET refused = r.refused + EXCLUDED.refused
        )
        SELECT count(*) FROM gone
        """,
        {"older_than": older_than, "limit": limit},
    ).fetchone()
    return int(row[0]) if row else 0
