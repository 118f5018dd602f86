"""SQL for purging quarantine, counting refused data, and reading refused messages for the
console."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

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


def list_refusal_groups(
    conn: Conn,
    organisation_id: int | None,
    *,
    since: datetime,
    device_id: int | None,
    reason: str | None,
) -> list[dict[str, Any]]:
    """Refused messages received since `since`, by device and reason, with their count and when
    the first and last came, latest first: those of an organisation's devices, or, with
    `organisation_id` None, those of no device in the register (device_id and public_id None)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT q.device_id, d.public_id, q.reason, count(*) AS refused,"
            " min(q.received_at) AS first_seen, max(q.received_at) AS last_seen"
            f" FROM quarantine q {_SCOPE}"
            " GROUP BY q.device_id, d.public_id, q.reason ORDER BY last_seen DESC, d.public_id",
            _scope_parameters(organisation_id, since, device_id, reason),
        ).fetchall()


def list_refusal_samples(
    conn: Conn,
    organisation_id: int | None,
    *,
    since: datetime,
    device_id: int | None,
    reason: str | None,
    per_group: int,
) -> list[dict[str, Any]]:
    """The latest `per_group` refused messages of each group `list_refusal_groups` returns for
    the same arguments, newest first: when, topic, source, payload (a bounded prefix) and its
    full size, and the ingester's message."""
    # Each group's latest, found through the (device_id, received_at) index: a window over
    # every refused message of the period would read them all.
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "WITH groups AS ("
            f"  SELECT DISTINCT q.device_id, q.reason FROM quarantine q {_SCOPE})"
            " SELECT latest.* FROM groups g CROSS JOIN LATERAL ("
            "   SELECT q.device_id, q.reason, q.received_at, q.source, q.topic, q.payload,"
            "          q.payload_size, q.message, q.id"
            "   FROM quarantine q"
            "   WHERE q.reason = g.reason AND q.received_at >= %(since)s"
            "     AND (q.device_id = g.device_id OR (g.device_id IS NULL AND q.device_id IS NULL))"
            "   ORDER BY q.received_at DESC, q.id DESC LIMIT %(per_group)s) latest"
            " ORDER BY latest.received_at DESC, latest.id DESC",
            {
                **_scope_parameters(organisation_id, since, device_id, reason),
                "per_group": per_group,
            },
        ).fetchall()


# Which refused messages the two statements above read: an organisation's devices' (or no
# device's), received since a time, optionally of one device and one reason.
_SCOPE = (
    "LEFT JOIN devices d ON d.id = q.device_id"
    " WHERE q.received_at >= %(since)s"
    " AND CASE WHEN %(organisation_id)s::integer IS NULL THEN q.device_id IS NULL"
    "          ELSE d.organisation_id = %(organisation_id)s END"
    " AND (%(device_id)s::integer IS NULL OR q.device_id = %(device_id)s)"
    " AND (%(reason)s::text IS NULL OR q.reason = %(reason)s)"
)


def _scope_parameters(
    organisation_id: int | None, since: datetime, device_id: int | None, reason: str | None
) -> dict[str, Any]:
    return {
        "organisation_id": organisation_id,
        "since": since,
        "device_id": device_id,
        "reason": reason,
    }
