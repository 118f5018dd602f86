"""SQL for the compliance figures (`metric_compliance`, `device_refusals`): the job's statements
that replace them, and the reads of the pages that show them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from psycopg.rows import dict_row

from register.queries import Conn


def lock_figures(conn: Conn) -> None:
    """Make concurrent runs take turns (EXCLUSIVE conflicts with itself and with writers, not
    with readers), until the transaction ends."""
    conn.execute(
        "LOCK TABLE metric_compliance, device_refusals, organisation_compliance IN EXCLUSIVE MODE"
    )


def get_database_now(conn: Conn) -> datetime:
    """The transaction's start time, which every figure of a run is computed as of."""
    row = conn.execute("SELECT now()").fetchone()
    if row is None:
        raise RuntimeError("SELECT now() returned no row")
    return row[0]  # type: ignore[no-any-return]


def store_metric_compliance(conn: Conn, computed_at: datetime) -> int:
    """Store each declared metric's oldest stored reading (NULL when none), and each withdrawn
    metric's that still has readings, over the previous figures; how many rows.

    An update that keeps a row's keys skips the foreign-key checks that an insert makes (they
    took a third of a run at 217,000 metrics), hence an upsert rather than delete and insert.

    One GROUP BY over the whole hypertable, by index-only scans of each chunk: see
    register/jobs/compliance.py for why, and for what it costs."""
    cur = conn.execute(
        """
        INSERT INTO metric_compliance (metric_id, device_id, oldest_at, computed_at)
        SELECT m.id, m.device_id, o.oldest_at, %(computed_at)s
          FROM device_metrics m
          LEFT JOIN (SELECT device_id, metric_id, min(time) AS oldest_at
                       FROM readings GROUP BY device_id, metric_id) o
                 ON o.device_id = m.device_id AND o.metric_id = m.id
         WHERE m.withdrawn_at IS NULL OR o.oldest_at IS NOT NULL
        ON CONFLICT (metric_id) DO UPDATE
           SET device_id = EXCLUDED.device_id, oldest_at = EXCLUDED.oldest_at,
               computed_at = EXCLUDED.computed_at
        """,
        {"computed_at": computed_at},
    )
    return cur.rowcount


def delete_older_metric_compliance(conn: Conn, computed_at: datetime) -> None:
    """Delete the figures of metrics the run at `computed_at` did not measure."""
    conn.execute("DELETE FROM metric_compliance WHERE computed_at <> %s", (computed_at,))


def store_device_refusals(conn: Conn, computed_at: datetime, today: date) -> int:
    """Store each device's refused data over the last 7 and 30 days (UTC days, `today` the
    last), by reason: records still in quarantine plus the daily counts of purged ones (a
    record is in exactly one of the two), over the previous figures; how many rows."""
    cur = conn.execute(
        """
        INSERT INTO device_refusals (device_id, reason, last_7_days, last_30_days, computed_at)
        SELECT device_id, reason,
               coalesce(sum(refused) FILTER (WHERE day > %(today)s::date - 7), 0),
               sum(refused), %(computed_at)s
          FROM (SELECT device_id, reason, (received_at AT TIME ZONE 'UTC')::date AS day,
                       count(*) AS refused
                  FROM quarantine
                 WHERE device_id IS NOT NULL
                   AND received_at >= (%(today)s::date - 29)::timestamp AT TIME ZONE 'UTC'
                 GROUP BY 1, 2, 3
                UNION ALL
                SELECT device_id, reason, day, refused
                  FROM refusals_by_day
                 WHERE day > %(today)s::date - 30 AND day <= %(today)s::date) refused
         WHERE day <= %(today)s::date
         GROUP BY device_id, reason
        ON CONFLICT (device_id, reason) DO UPDATE
           SET last_7_days = EXCLUDED.last_7_days, last_30_days = EXCLUDED.last_30_days,
               computed_at = EXCLUDED.computed_at
        """,
        {"computed_at": computed_at, "today": today},
    )
    return cur.rowcount


def delete_older_device_refusals(conn: Conn, computed_at: datetime) -> None:
    """Delete the refusal counts the run at `computed_at` did not find."""
    conn.execute("DELETE FROM device_refusals WHERE computed_at <> %s", (computed_at,))


def store_organisation_compliance(conn: Conn, computed_at: datetime, grace: timedelta) -> int:
    """Store each organisation's figures from its devices' figures of the run at `computed_at`:
    its devices, how many have every metric's oldest stored reading within its retention plus
    `grace`, and their refused data; how many organisations."""
    cur = conn.execute(
        """
        WITH late AS (
            SELECT DISTINCT c.device_id
              FROM metric_compliance c JOIN device_metrics m ON m.id = c.metric_id
             WHERE c.oldest_at < c.computed_at - m.retention - %(grace)s
        ), refused AS (
            SELECT device_id, sum(last_7_days) AS last_7, sum(last_30_days) AS last_30
              FROM device_refusals GROUP BY device_id
        )
        INSERT INTO organisation_compliance AS oc
               (organisation_id, devices, within_retention, refused_7_days, refused_30_days,
                computed_at)
        SELECT o.id, count(d.id), count(d.id) FILTER (WHERE late.device_id IS NULL),
               coalesce(sum(r.last_7), 0), coalesce(sum(r.last_30), 0), %(computed_at)s
          FROM organisations o
          LEFT JOIN devices d ON d.organisation_id = o.id
          LEFT JOIN late ON late.device_id = d.id
          LEFT JOIN refused r ON r.device_id = d.id
         GROUP BY o.id
        ON CONFLICT (organisation_id) DO UPDATE
           SET devices = EXCLUDED.devices, within_retention = EXCLUDED.within_retention,
               refused_7_days = EXCLUDED.refused_7_days,
               refused_30_days = EXCLUDED.refused_30_days, computed_at = EXCLUDED.computed_at
        """,
        {"computed_at": computed_at, "grace": grace},
    )
    return cur.rowcount


def count_devices(conn: Conn) -> int:
    """How many devices the register holds."""
    row = conn.execute("SELECT count(*) FROM devices").fetchone()
    return int(row[0]) if row else 0


def get_computed_at(conn: Conn) -> datetime | None:
    """When the stored figures were computed (every row of a run has the same time), or None
    before the first run."""
    row = conn.execute(
        """SELECT coalesce((SELECT computed_at FROM metric_compliance LIMIT 1),
                           (SELECT computed_at FROM device_refusals LIMIT 1),
                           (SELECT started_at FROM job_runs
                             WHERE job = 'compliance' AND finished_at IS NOT NULL
                               AND error IS NULL
                             ORDER BY started_at DESC LIMIT 1))"""
    ).fetchone()
    return row[0] if row else None


def list_metric_figures(conn: Conn, device_id: int) -> list[dict[str, Any]]:
    """A device's stored figures, one row per metric measured, by metric id: its key, label,
    declared retention, whether it is withdrawn, and its oldest stored reading."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT m.id, m.key, m.label, m.retention, m.withdrawn_at IS NOT NULL AS withdrawn,
                      c.oldest_at, c.computed_at
                 FROM metric_compliance c JOIN device_metrics m ON m.id = c.metric_id
                WHERE c.device_id = %s
                ORDER BY m.id""",
            (device_id,),
        ).fetchall()


def list_device_refusals(conn: Conn, device_id: int) -> list[dict[str, Any]]:
    """A device's stored refusal counts by reason, most refused first."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT reason, last_7_days, last_30_days FROM device_refusals
                WHERE device_id = %s ORDER BY last_30_days DESC, reason""",
            (device_id,),
        ).fetchall()


def get_organisation_compliance(conn: Conn, organisation_id: int) -> dict[str, Any] | None:
    """An organisation's stored figures, or None when the last run did not know it."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT devices, within_retention, refused_7_days, refused_30_days, computed_at
                 FROM organisation_compliance WHERE organisation_id = %s""",
            (organisation_id,),
        ).fetchone()


def count_deleted_by_retention(conn: Conn, device_id: int, since: datetime) -> int:
    """Readings of the device that retention runs started since `since` deleted."""
    row = conn.execute(
        """SELECT coalesce(sum(d.deleted), 0) FROM retention_deletions d
             JOIN job_runs r ON r.id = d.run_id
            WHERE d.device_id = %s AND r.started_at >= %s""",
        (device_id, since),
    ).fetchone()
    return int(row[0]) if row else 0
