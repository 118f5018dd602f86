"""SQL for devices not reporting (`device_silence`, migration 0008), written by mark_silent and
read by every page and API answer that says "not reporting".

A mark stands only while the device is active, declares a reporting interval, and has not been
heard from after the mark's `since`: `NOT_REPORTING_SINCE` says so in one expression, which the
readers put in their own statements, so that a device that reports again stops being shown as
not reporting within the ingester's last-seen interval, not one job interval later.
"""

from __future__ import annotations

from datetime import datetime

from register.queries import Conn

# The marks that stand: of devices active, with an interval, and not heard from after `since`.
_STANDING = """
    SELECT s.device_id FROM device_silence s
      JOIN devices sd ON sd.id = s.device_id
      LEFT JOIN device_activity sa ON sa.device_id = s.device_id
     WHERE sd.status = 'active' AND sd.reporting_interval IS NOT NULL
       AND (sa.last_seen_at IS NULL OR sa.last_seen_at <= s.since)"""

# The time a device `d` (a row of devices) has not reported since, or NULL when it reports, is
# not marked, or is no longer tracked (not active, or without an interval): for a SELECT list.
NOT_REPORTING_SINCE = """
    (SELECT s.since FROM device_silence s
       LEFT JOIN device_activity sa ON sa.device_id = s.device_id
      WHERE s.device_id = d.id AND d.status = 'active' AND d.reporting_interval IS NOT NULL
        AND (sa.last_seen_at IS NULL OR sa.last_seen_at <= s.since))"""
# Whether a device `d` is not reporting, for a WHERE clause. Not correlated, so the planner reads
# the standing marks once into a hash and probes it for each device: a subquery per device would
# cost 100,000 lookups where a filter wants a few hundred.
NOT_REPORTING = f"d.id IN ({_STANDING})"

# Devices overdue at %(now)s: active, with an interval, and not heard from for %(factor)s times
# it since they could first report (`expected_from`: when last heard from, or when last made
# active if that is later; never heard from, since made active). The cheap test on created_at
# first leaves out nearly every device before the audit log is read, which only the overdue
# (and recently re-activated) ones need.
_OVERDUE = """
    overdue AS (
        SELECT d.id AS device_id, expected_from
          FROM devices d
          LEFT JOIN device_activity a ON a.device_id = d.id
          CROSS JOIN LATERAL (
              SELECT GREATEST(a.last_seen_at, COALESCE(
                         (SELECT max(e.at) FROM audit_events e
                           WHERE e.entity = 'device' AND e.entity_id = d.id
                             AND e.changes -> 'status' ->> 'after' = 'active'),
                         d.created_at)) AS expected_from) AS expected
         WHERE d.status = 'active' AND d.reporting_interval IS NOT NULL
           AND GREATEST(a.last_seen_at, d.created_at)
               < %(now)s - %(factor)s * d.reporting_interval
           AND expected_from < %(now)s - %(factor)s * d.reporting_interval
    )"""


def delete_ended_silences(conn: Conn, now: datetime, factor: float) -> tuple[int, int]:
    """Remove the marks that no longer stand; how many devices (were heard from after `since`,
    are no longer expected to have reported: not active, without an interval, or not overdue
    since their interval or the factor changed)."""
    row = conn.execute(
        "WITH"
        + _OVERDUE
        + """, gone AS (
            DELETE FROM device_silence s
             WHERE NOT EXISTS (SELECT FROM overdue o WHERE o.device_id = s.device_id)
                OR EXISTS (SELECT FROM device_activity a
                            WHERE a.device_id = s.device_id AND a.last_seen_at > s.since)
            RETURNING EXISTS (SELECT FROM device_activity a
                               WHERE a.device_id = s.device_id AND a.last_seen_at > s.since)
                      AS heard
        )
        SELECT count(*) FILTER (WHERE heard), count(*) FILTER (WHERE NOT heard) FROM gone""",
        {"now": now, "factor": factor},
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def insert_new_silences(conn: Conn, now: datetime, factor: float) -> int:
    """Mark every overdue device not marked yet, not reporting since it could first report;
    how many."""
    cursor = conn.execute(
        "WITH"
        + _OVERDUE
        + """
        INSERT INTO device_silence (device_id, since, marked_at)
        SELECT device_id, expected_from, %(now)s FROM overdue
            ON CONFLICT (device_id) DO NOTHING""",
        {"now": now, "factor": factor},
    )
    return cursor.rowcount


def count_silences(conn: Conn) -> int:
    """How many devices stand marked as not reporting (marks that ended are not counted)."""
    row = conn.execute("SELECT count(*) FROM devices d WHERE " + NOT_REPORTING).fetchone()
    return int(row[0]) if row else 0
