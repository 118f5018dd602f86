"""The web's SQL: what the public pages show beyond the register entry itself.

One function per statement, each named for what it returns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from register.queries import Conn


def get_device_activity(conn: Conn, device_id: int) -> dict[str, Any] | None:
    """When the device was last heard from, and the time of its newest stored reading."""
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            "SELECT last_seen_at, last_stored_at FROM device_activity WHERE device_id = %s",
            (device_id,),
        )
        .fetchone()
    )


def count_quarantined_by_reason(conn: Conn, device_id: int) -> dict[str, int]:
    """How many of the device's messages (or parts) are in quarantine, by reason code."""
    rows = conn.execute(
        "SELECT reason, count(*) FROM quarantine WHERE device_id = %s GROUP BY reason "
        "ORDER BY reason",
        (device_id,),
    ).fetchall()
    return {reason: int(count) for reason, count in rows}


def list_oldest_readings(conn: Conn, device_id: int) -> dict[str, datetime | None]:
    """Each declared metric's oldest stored reading time (None when nothing is stored)."""
    rows = conn.execute(
        """SELECT m.key,
                  (SELECT r.time FROM readings r
                    WHERE r.device_id = m.device_id AND r.metric_id = m.id
                    ORDER BY r.time ASC LIMIT 1)
             FROM device_metrics m
            WHERE m.device_id = %s AND m.withdrawn_at IS NULL
            ORDER BY m.id""",
        (device_id,),
    ).fetchall()
    return dict(rows)


def database_answers(conn: Conn) -> bool:
    """Whether the database answers a trivial query."""
    return conn.execute("SELECT 1").fetchone() == (1,)
