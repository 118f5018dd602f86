"""The web benchmark's SQL: bulk COPY of a large register, one function per statement.

A benchmark register of 100,000 devices cannot go through the audited one-by-one path in
reasonable time; these statements write the same tables directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from register.queries import Conn
from register.queries.registry import DEVICE_FIELDS, METRIC_FIELDS


def copy_devices(conn: Conn, rows: Iterable[Sequence[Any]]) -> None:
    """COPY devices: each row is the organisation id, then DEVICE_FIELDS in order."""
    columns = ", ".join(("organisation_id", *DEVICE_FIELDS))
    with conn.cursor().copy(f"COPY devices ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def list_device_ids(conn: Conn) -> dict[str, int]:
    """Every device's id by public id."""
    return dict(conn.execute("SELECT public_id, id FROM devices").fetchall())


def copy_metrics(conn: Conn, rows: Iterable[Sequence[Any]]) -> None:
    """COPY declared metrics: each row is the device id, then METRIC_FIELDS in order (retention
    as an interval)."""
    columns = ", ".join(("device_id", *METRIC_FIELDS))
    with conn.cursor().copy(f"COPY device_metrics ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def copy_audit_events(conn: Conn, rows: Iterable[tuple[datetime, int, int, str, str]]) -> None:
    """COPY device audit events: (at, device id, organisation id, action, changes as JSON)."""
    with conn.cursor().copy(
        "COPY audit_events (at, entity_id, organisation_id, action, changes, entity, actor)"
        " FROM STDIN"
    ) as copy:
        for at, device_id, organisation_id, action, changes in rows:
            copy.write_row(
                (at, device_id, organisation_id, action, changes, "device", "lamplighter bench")
            )


def list_metric_ids(conn: Conn, device_ids: Sequence[int]) -> list[tuple[int, int]]:
    """(metric id, device id) of the declared metrics of some devices."""
    return conn.execute(
        "SELECT id, device_id FROM device_metrics WHERE device_id = ANY(%s) ORDER BY id",
        (list(device_ids),),
    ).fetchall()


def copy_readings(conn: Conn, rows: Iterable[tuple[datetime, int, int, float]]) -> None:
    """COPY readings: (time, device id, metric id, value)."""
    with conn.cursor().copy("COPY readings (time, device_id, metric_id, value) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def copy_device_activity(conn: Conn, rows: Iterable[tuple[int, datetime, datetime]]) -> None:
    """COPY last-seen times: (device id, last seen, last stored)."""
    with conn.cursor().copy(
        "COPY device_activity (device_id, last_seen_at, last_stored_at) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row(row)


def vacuum_analyse(conn: Conn) -> None:
    """VACUUM and fresh planner statistics after a bulk load (autocommit mode needed)."""
    conn.execute("VACUUM (ANALYZE)")
