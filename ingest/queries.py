"""The ingester's SQL: reading the register it enforces, and writing readings, quarantine records
and last-seen times. One function per statement."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg

Conn = psycopg.Connection[Any]

_DEVICES = """
    SELECT d.id, d.public_id, o.slug, d.status, d.dev_eui, d.ttn_device_id,
           m.id, m.key, m.unit, m.value_kind, extract(epoch FROM m.retention)::float8
      FROM devices d
      JOIN organisations o ON o.id = d.organisation_id
      LEFT JOIN device_metrics m ON m.device_id = d.id AND m.withdrawn_at IS NULL
"""


def list_enforced_devices(conn: Conn) -> list[tuple[Any, ...]]:
    """Every device with its declared (not withdrawn) metrics, one row per metric."""
    return conn.execute(_DEVICES + " ORDER BY d.id").fetchall()


def get_enforced_devices(conn: Conn, device_ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """Some devices with their declared metrics, one row per metric."""
    return conn.execute(
        _DEVICES + " WHERE d.id = ANY(%s) ORDER BY d.id", (list(device_ids),)
    ).fetchall()


def create_staging_tables(conn: Conn) -> None:
    """Session-local tables that each batch is copied into, emptied at commit."""
    conn.execute(
        """CREATE TEMPORARY TABLE IF NOT EXISTS ingest_staging (
               time_us bigint NOT NULL, device_id integer NOT NULL,
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


def _copy_binary(conn: Conn, statement: str, types: list[str], rows: Iterable[Any]) -> None:
    with conn.cursor().copy(statement) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def copy_staged_readings(conn: Conn, rows: Iterable[tuple[int, int, int, float]]) -> None:
    """Binary COPY of (microseconds since 1970, device id, metric id, value) rows to staging."""
    _copy_binary(
        conn,
        "COPY ingest_staging (time_us, device_id, metric_id, value) FROM STDIN (FORMAT BINARY)",
        ["int8", "int4", "int4", "float8"],
        rows,
    )


def insert_staged_readings(conn: Conn) -> int:
    """Move the staged rows into readings, skipping any already stored; the number stored."""
    cursor = conn.execute(
        """INSERT INTO readings (time, device_id, metric_id, value)
           SELECT timestamptz 'epoch' + time_us * interval '1 microsecond',
                  device_id, metric_id, value
             FROM ingest_staging
            -- One order for every ingester, so two inserting the same rows cannot deadlock.
            ORDER BY device_id, metric_id, time_us
               ON CONFLICT DO NOTHING"""
    )
    return cursor.rowcount


def list_metric_devices(conn: Conn) -> list[tuple[int, int]]:
    """Every declared metric's (id, device id), in id order."""
    return conn.execute("SELECT id, device_id FROM device_metrics ORDER BY id").fetchall()


def copy_readings(conn: Conn, rows: Iterable[tuple[Any, int, int, float]]) -> None:
    """Binary COPY of (time, device id, metric id, value) rows straight into readings.

    Not the ingester's path (a repeated row would fail it); the benchmark's ceiling.
    """
    _copy_binary(
        conn,
        "COPY readings (time, device_id, metric_id, value) FROM STDIN (FORMAT BINARY)",
        ["timestamptz", "int4", "int4", "float8"],
        rows,
    )


def delete_all_readings(conn: Conn) -> None:
    """Empty the readings hypertable (the benchmark's own database only)."""
    conn.execute("TRUNCATE readings")


def insert_quarantine_records(conn: Conn, records: Iterable[tuple[Any, ...]]) -> int:
    """Store (received at, source, topic, payload prefix, payload size, reason, text, device id,
    fingerprint) records, skipping any whose fingerprint is already stored; the number stored."""
    columns = (
        "received_at, source, topic, payload, payload_size, reason, message, device_id, fingerprint"
    )
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
