"""The ingester's SQL: reading the register it enforces, and writing readings, quarantine records
and last-seen times. One function per statement.

Rows read here come back as named records (a psycopg row factory fills them by column name).
Readings are written by binary COPY packed here; quarantine records by COPY of `NamedTuple`s
whose fields are the columns, in order.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import psycopg
from psycopg.rows import class_row

from ingest.messages import QuarantineRecord, StagedReading

Conn = psycopg.Connection[Any]


class EnforcedMetric(NamedTuple):
    """A device and one of its declared metrics; the metric fields are None for a device that
    declares none."""

    device_id: int
    public_id: str
    organisation: str  # the organisation's slug
    status: str
    dev_eui: str | None
    ttn_id: str | None
    metric_id: int | None
    key: str | None
    unit: str | None
    value_kind: str | None
    retention_seconds: float | None


class MetricDevice(NamedTuple):
    """A declared metric and the device that declares it."""

    metric_id: int
    device_id: int


# The columns of `readings` (and of the staging table) that a `StagedReading` fills, in order.
READING_COLUMNS = ("time", "device_id", "metric_id", "value")


_DEVICES = """
    SELECT d.id AS device_id, d.public_id, o.slug AS organisation, d.status, d.dev_eui,
           d.ttn_device_id AS ttn_id, m.id AS metric_id, m.key, m.unit, m.value_kind,
           extract(epoch FROM m.retention)::float8 AS retention_seconds
      FROM devices d
      JOIN organisations o ON o.id = d.organisation_id
      LEFT JOIN device_metrics m ON m.device_id = d.id AND m.withdrawn_at IS NULL
"""


def list_enforced_devices(conn: Conn) -> list[EnforcedMetric]:
    """Every device with its declared (not withdrawn) metrics, one row per metric."""
    cursor = conn.cursor(row_factory=class_row(EnforcedMetric))
    return cursor.execute(_DEVICES + " ORDER BY d.id").fetchall()


def list_reporting_intervals(conn: Conn) -> dict[int, float]:
    """Seconds between messages of each device that declares how often it reports, by id (for
    the simulator)."""
    rows = conn.execute(
        "SELECT id, extract(epoch FROM reporting_interval)::float8 FROM devices"
        " WHERE reporting_interval IS NOT NULL"
    ).fetchall()
    return {device_id: seconds for device_id, seconds in rows}


def get_enforced_devices(conn: Conn, device_ids: Sequence[int]) -> list[EnforcedMetric]:
    """Some devices with their declared metrics, one row per metric."""
    cursor = conn.cursor(row_factory=class_row(EnforcedMetric))
    return cursor.execute(
        _DEVICES + " WHERE d.id = ANY(%s) ORDER BY d.id", (list(device_ids),)
    ).fetchall()


def create_staging_tables(conn: Conn) -> None:
    """Session-local tables that each batch is copied into, emptied at commit."""
    conn.execute(
        """CREATE TEMPORARY TABLE IF NOT EXISTS ingest_staging (
               time timestamptz NOT NULL, device_id integer NOT NULL,
               metric_id integer NOT NULL, value double precision NOT NULL
           ) ON COMMIT DELETE ROWS"""
    )
    conn.execute(
        """CREATE TEMPORARY TABLE IF NOT EXISTS ingest_quarantine_staging (
               received_at timestamptz NOT NULL, source text NOT NULL, topic text NOT NULL,
               payload bytea NOT NULL, payload_size integer NOT NULL, reason text NOT NULL,
               message text NOT NULL, device_id integer, fingerprint bytea NOT NULL
           ) ON COMMIT DELETE ROWS"""
    )


def copy_staged_readings(conn: Conn, rows: Sequence[StagedReading]) -> None:
    """Binary COPY of checked readings to the staging table."""
    _copy_readings(conn, "ingest_staging", rows)


def insert_staged_readings(conn: Conn) -> int:
    """Move the staged rows into readings, skipping any already stored; the number stored."""
    cursor = conn.execute(
        """INSERT INTO readings (time, device_id, metric_id, value)
           SELECT time, device_id, metric_id, value
             FROM ingest_staging
            -- One order for every ingester, so two inserting the same rows cannot deadlock.
            ORDER BY device_id, metric_id, time
               ON CONFLICT DO NOTHING"""
    )
    return cursor.rowcount


def list_metric_devices(conn: Conn) -> list[MetricDevice]:
    """Every declared metric with its device, in metric id order."""
    cursor = conn.cursor(row_factory=class_row(MetricDevice))
    return cursor.execute(
        "SELECT id AS metric_id, device_id FROM device_metrics ORDER BY id"
    ).fetchall()


def copy_new_readings(conn: Conn, rows: Sequence[StagedReading]) -> None:
    """Binary COPY of checked readings straight into readings: the fast way, for rows none of
    which is stored yet. Raises UniqueViolation if one is, which aborts the transaction: the
    writer then does it again the staging table's way (above).
    """
    _copy_readings(conn, "readings", rows)


def _copy_readings(conn: Conn, table: str, rows: Sequence[StagedReading]) -> None:
    """Binary COPY of readings into `table`'s READING_COLUMNS.

    The stream is packed here, a row per `struct` call, rather than by psycopg a field at a
    time: a third of the time. A timestamptz's binary form is a 64-bit count of microseconds
    since 2000-01-01 UTC, so the time goes in as a number.
    """
    pack = _COPY_ROW.pack
    since_2000 = _POSTGRES_EPOCH_US
    data = b"".join(
        [
            pack(4, 8, time_us - since_2000, 4, device_id, 4, metric_id, 8, value)
            for time_us, device_id, metric_id, value in rows
        ]
    )
    with conn.cursor().copy(
        f"COPY {table} ({', '.join(READING_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.write(_COPY_HEADER)
        copy.write(data)
        copy.write(_COPY_TRAILER)


# PostgreSQL's binary COPY: a signature, flags and header extension length (both 0); then per
# row the number of fields and each field's length and value; then -1 fields to end.
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_COPY_ROW = struct.Struct("!hiqiiiiid")
_COPY_TRAILER = struct.pack("!h", -1)
_POSTGRES_EPOCH_US = 946_684_800_000_000  # 2000-01-01T00:00:00Z in microseconds since 1970


def delete_all_readings(conn: Conn) -> None:
    """Empty the readings hypertable (the benchmark's own database only)."""
    conn.execute("TRUNCATE readings")


def insert_quarantine_records(conn: Conn, records: Iterable[QuarantineRecord]) -> int:
    """Store quarantine records, skipping any whose fingerprint is already stored; the number
    stored."""
    columns = ", ".join(QuarantineRecord._fields)
    with conn.cursor().copy(f"COPY ingest_quarantine_staging ({columns}) FROM STDIN") as copy:
        for record in records:
            copy.write_row(record)
    cursor = conn.execute(
        f"""INSERT INTO quarantine ({columns})
            SELECT {columns} FROM ingest_quarantine_staging ORDER BY fingerprint
                ON CONFLICT (fingerprint) DO NOTHING"""
    )
    return cursor.rowcount


def upsert_device_activity(
    conn: Conn, device_ids: list[int], seen_us: list[int], stored_us: list[int | None]
) -> None:
    """Move each device's last-seen and last-stored times forward (never back).

    Pass the devices in id order: every ingester then locks the rows in the same order.
    """
    conn.execute(
        """INSERT INTO device_activity AS a (device_id, last_seen_at, last_stored_at)
           SELECT id, timestamptz 'epoch' + seen * interval '1 microsecond',
                  timestamptz 'epoch' + stored * interval '1 microsecond'
             FROM unnest(%s::int4[], %s::int8[], %s::int8[]) AS t(id, seen, stored)
            WHERE EXISTS (SELECT FROM devices WHERE devices.id = t.id)
               ON CONFLICT (device_id) DO UPDATE
              SET last_seen_at = GREATEST(a.last_seen_at, EXCLUDED.last_seen_at),
                  last_stored_at = GREATEST(a.last_stored_at, EXCLUDED.last_stored_at)""",
        (device_ids, seen_us, stored_us),
    )
