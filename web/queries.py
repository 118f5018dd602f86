"""The web's SQL: what the public pages show beyond the register entry itself.

One function per statement, each named for what it returns.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from psycopg.rows import dict_row

from register.queries import Conn
from register.queries.silence import NOT_REPORTING, NOT_REPORTING_SINCE


def get_device_id(conn: Conn, public_id: str) -> int | None:
    """A device's id, or None when the register has no such device."""
    row = conn.execute("SELECT id FROM devices WHERE public_id = %s", (public_id,)).fetchone()
    return None if row is None else int(row[0])


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


def list_latest_open_readings(
    conn: Conn, device_id: int, since: datetime
) -> dict[str, tuple[datetime, float]]:
    """The newest stored reading since `since` of each of the device's open-data metrics (never
    a personal one: the register keeps those two apart), by metric key."""
    rows = conn.execute(
        """SELECT m.key, latest.time, latest.value
             FROM device_metrics m
             CROSS JOIN LATERAL (
                 SELECT r.time, r.value FROM readings r
                  WHERE r.device_id = m.device_id AND r.metric_id = m.id AND r.time >= %s
                  ORDER BY r.time DESC LIMIT 1) AS latest
            WHERE m.device_id = %s AND m.open_data AND NOT m.personal
              AND m.withdrawn_at IS NULL""",
        (since, device_id),
    ).fetchall()
    return {key: (time, value) for key, time, value in rows}


def get_not_reporting_since(conn: Conn, device_id: int) -> datetime | None:
    """Since when the device has not reported (the mark of mark_silent, while it stands), or
    None when it reports or declares no interval."""
    row = conn.execute(
        "SELECT " + NOT_REPORTING_SINCE + " FROM devices d WHERE d.id = %s", (device_id,)
    ).fetchone()
    return None if row is None else row[0]


def database_answers(conn: Conn) -> bool:
    """Whether the database answers a trivial query."""
    return conn.execute("SELECT 1").fetchone() == (1,)


# Metres from the point (%(lat)s, %(lon)s) to a device, by the haversine formula on a sphere of
# the Earth's mean radius.
_DISTANCE = """
    2 * 6371008.8 * asin(sqrt(
        power(sin(radians(d.latitude - %(lat)s) / 2), 2)
        + cos(radians(%(lat)s)) * cos(radians(d.latitude))
          * power(sin(radians(d.longitude - %(lon)s) / 2), 2)))"""

# With a point, a box around it (served by the devices_location index) narrows the search before
# the exact distance is measured.
_LIST_FILTERS = (
    """
      FROM devices d
      JOIN organisations o ON o.id = d.organisation_id
     WHERE (%(lat)s::float8 IS NULL OR (
               d.latitude BETWEEN %(south)s AND %(north)s
           AND d.longitude BETWEEN %(west)s AND %(east)s
           AND"""
    + _DISTANCE
    + """ <= %(radius)s))
       AND (%(bbox_west)s::float8 IS NULL OR (
               d.latitude BETWEEN %(bbox_south)s AND %(bbox_north)s
           AND d.longitude BETWEEN %(bbox_west)s AND %(bbox_east)s))
       AND (%(q)s::text IS NULL OR (d.name || ' ' || d.place || ' ' || d.public_id || ' '
                                   || d.description || ' ' || o.name) ILIKE %(q)s)
       AND (%(purpose)s::text IS NULL OR %(purpose)s = ANY (d.purposes))
       AND (%(technology)s::text IS NULL OR %(technology)s = ANY (d.technology))
       AND (%(organisation)s::text IS NULL OR o.slug = %(organisation)s)
       AND (%(status)s::text IS NULL OR d.status = %(status)s)
       AND (%(personal)s::boolean IS NULL OR %(personal)s = EXISTS (
               SELECT FROM device_metrics m
                WHERE m.device_id = d.id AND m.personal AND m.withdrawn_at IS NULL))
       AND (%(reporting)s::boolean IS NULL
            OR (%(reporting)s AND d.status = 'active' AND d.reporting_interval IS NOT NULL
                AND NOT """
    + NOT_REPORTING
    + """)
            OR (NOT %(reporting)s AND """
    + NOT_REPORTING
    + """))
"""
)

_SUMMARY = (
    """SELECT d.public_id, d.name, d.status, d.place, d.latitude, d.longitude,
              d.purposes, d.technology, o.slug AS organisation, o.name AS organisation_name,
              d.reporting_interval,"""
    + NOT_REPORTING_SINCE
    + """ AS not_reporting_since,
              EXISTS (SELECT FROM device_metrics m WHERE m.device_id = d.id AND m.personal
                                                     AND m.withdrawn_at IS NULL) AS personal,
              CASE WHEN %(lat)s::float8 IS NOT NULL THEN"""
    + _DISTANCE
    + """ END AS distance"""
    + _LIST_FILTERS
    + " ORDER BY distance NULLS LAST, o.slug, d.public_id LIMIT %(limit)s OFFSET %(offset)s"
)


def list_device_summaries(
    conn: Conn, filters: dict[str, Any], limit: int | None, offset: int
) -> list[dict[str, Any]]:
    """Devices matching the filters, nearest first when there is a point, else by organisation
    and public id; one summary row each."""
    cursor = conn.cursor(row_factory=dict_row)
    return cursor.execute(_SUMMARY, {**filters, "limit": limit, "offset": offset}).fetchall()


def count_devices_matching(conn: Conn, filters: dict[str, Any]) -> int:
    """How many devices match the filters."""
    row = conn.execute("SELECT count(*) " + _LIST_FILTERS, filters).fetchone()
    return int(row[0]) if row else 0


def list_organisation_slugs(conn: Conn) -> list[tuple[str, str]]:
    """Every organisation's (slug, name), by name."""
    return conn.execute("SELECT slug, name FROM organisations ORDER BY name").fetchall()


def get_organisation_summary(conn: Conn, slug: str) -> dict[str, Any] | None:
    """An organisation's transparency figures: devices by status, personal data, devices not
    reporting. (Its refused data is a compliance figure: `web/compliance.py`.)"""
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            """SELECT o.id, o.slug,
                  count(d.id) AS devices,
                  count(d.id) FILTER (WHERE d.status = 'active') AS active,
                  count(d.id) FILTER (WHERE d.status = 'planned') AS planned,
                  count(d.id) FILTER (WHERE d.status = 'suspended') AS suspended,
                  count(d.id) FILTER (WHERE d.status = 'decommissioned') AS decommissioned,
                  count(d.id) FILTER (WHERE EXISTS (
                      SELECT FROM device_metrics m WHERE m.device_id = d.id AND m.personal
                                                     AND m.withdrawn_at IS NULL))
                      AS personal_data_devices,
                  count(d.id) FILTER (WHERE """
            + NOT_REPORTING
            + """) AS not_reporting
             FROM organisations o
             LEFT JOIN devices d ON d.organisation_id = o.id
            WHERE o.slug = %s
            GROUP BY o.id""",
            (slug,),
        )
        .fetchone()
    )


def list_organisation_purposes(conn: Conn, organisation_id: int) -> list[tuple[str, int]]:
    """The purposes an organisation's devices serve, most common first, with device counts."""
    return conn.execute(
        """SELECT purpose, count(*) FROM devices, unnest(purposes) AS purpose
            WHERE organisation_id = %s AND status <> 'decommissioned'
            GROUP BY purpose ORDER BY count(*) DESC, purpose""",
        (organisation_id,),
    ).fetchall()


def list_reading_buckets(
    conn: Conn, device_id: int, metric_id: int, width: timedelta, *, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """A metric's readings in [start, end) as time_bucket aggregates, oldest first; empty buckets
    are left out."""
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            """SELECT time_bucket(%(width)s, time) AS time, count(*) AS count,
                      -- numeric: a float8 avg() overflows on values near 1e154 and over
                      avg(value::numeric)::float8 AS mean, min(value) AS min, max(value) AS max
                 FROM readings
                WHERE device_id = %(device)s AND metric_id = %(metric)s
                  AND time >= %(start)s AND time < %(end)s
                GROUP BY 1 ORDER BY 1""",
            {"width": width, "device": device_id, "metric": metric_id, "start": start, "end": end},
        )
        .fetchall()
    )


def get_register_version(conn: Conn) -> tuple[int, int, datetime | None]:
    """What changes whenever the register does, since every change writes an audit event: how
    many events there are (which also counts one that commits after a newer one), the newest
    event's id, and its time (None in an empty register). An index serves each part. Changes to
    accounts are not the register's: they neither change its version nor show when they were."""
    row = conn.execute(
        """SELECT (SELECT count(*) FROM audit_events WHERE entity <> 'user'),
                  (SELECT id FROM audit_events WHERE entity <> 'user' ORDER BY id DESC LIMIT 1),
                  (SELECT at FROM audit_events WHERE entity <> 'user' ORDER BY id DESC LIMIT 1)"""
    ).fetchone()
    if row is None:
        raise RuntimeError("a SELECT without FROM returned no row")
    return int(row[0]), int(row[1] or 0), row[2]


def list_organisation_overviews(conn: Conn) -> list[dict[str, Any]]:
    """Every organisation, by name, with how many devices (of any status) and accounts it has:
    the administrators' list."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT o.slug, o.name, o.kind, o.contact_email,
                      (SELECT count(*) FROM devices d WHERE d.organisation_id = o.id) AS devices,
                      (SELECT count(*) FROM users u WHERE u.organisation_id = o.id) AS accounts
                 FROM organisations o
                ORDER BY o.name"""
        ).fetchall()


def list_organisation_devices(conn: Conn, organisation: str) -> list[dict[str, Any]]:
    """An organisation's devices for its console, by public id: each with its declared metrics
    counted and whether any of them is personal data (withdrawn metrics left out)."""
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            """SELECT d.public_id, d.name, d.status, d.place,
                      count(m.id) FILTER (WHERE m.withdrawn_at IS NULL) AS metrics,
                      coalesce(bool_or(m.personal) FILTER (WHERE m.withdrawn_at IS NULL), false)
                          AS personal
                 FROM devices d
                 JOIN organisations o ON o.id = d.organisation_id
                 LEFT JOIN device_metrics m ON m.device_id = d.id
                WHERE o.slug = %s
                GROUP BY d.id
                ORDER BY d.public_id""",
            (organisation,),
        )
        .fetchall()
    )
