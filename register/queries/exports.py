"""SQL for the devices' stored export rows (migration 0007, `register.exports`): one function
per statement."""

from __future__ import annotations

from collections.abc import Sequence

from register.queries import Conn

# The column holding each export format's text.
COLUMNS = {"json": "entry_json", "geojson": "feature", "csv": "csv_rows"}

_STAGE = """
    CREATE TEMP TABLE device_exports_staging (
        device_id integer, entry_json text, feature text, csv_rows text
    ) ON COMMIT DELETE ROWS"""
_UPSERT_STAGED = """
    INSERT INTO device_exports (device_id, layout, device_updated_at, entry_json, feature, csv_rows)
    SELECT s.device_id, %s, d.updated_at, s.entry_json, s.feature, s.csv_rows
      FROM device_exports_staging s JOIN devices d ON d.id = s.device_id"""
_UPSERT_ONE = """
    INSERT INTO device_exports (device_id, layout, device_updated_at, entry_json, feature, csv_rows)
    SELECT d.id, %s, d.updated_at, %s, %s, %s FROM devices d WHERE d.id = %s"""
_ON_CONFLICT = """
    ON CONFLICT (device_id) DO UPDATE
       SET layout = EXCLUDED.layout, device_updated_at = EXCLUDED.device_updated_at,
           entry_json = EXCLUDED.entry_json, feature = EXCLUDED.feature,
           csv_rows = EXCLUDED.csv_rows"""
# A backfill keeps a row that is already current (of this layout, and as new as its device).
_ONLY_OUTDATED = """
     WHERE device_exports.layout <> EXCLUDED.layout
        OR device_exports.device_updated_at < EXCLUDED.device_updated_at"""


def upsert_export_rows(
    conn: Conn, layout: int, rows: Sequence[tuple[int, str, str, str]], *, replace_current: bool
) -> None:
    """Store (device id, JSON, GeoJSON, CSV) rows, each with its device's `updated_at` as this
    transaction sees it. Unless `replace_current`, a current row is kept: a backfill must never
    overwrite what a concurrent change just wrote.

    One row (a change to one device) is one INSERT. More go through COPY into a staging table,
    five times faster than array parameters for large texts; emptied by TRUNCATE, which is cheap
    once but slows down when repeated in one long transaction, as a change device by device
    would (seeding the demo took 18.7 s instead of 7.1 s)."""
    guard = "" if replace_current else _ONLY_OUTDATED
    if len(rows) == 1:
        device_id, entry_json, feature, csv_rows = rows[0]
        conn.execute(
            _UPSERT_ONE + _ON_CONFLICT + guard, (layout, entry_json, feature, csv_rows, device_id)
        )
        return
    with conn.transaction():
        staged = conn.execute("SELECT to_regclass('pg_temp.device_exports_staging')").fetchone()
        if staged is None or staged[0] is None:
            conn.execute(_STAGE)
        with conn.cursor().copy("COPY device_exports_staging FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute(_UPSERT_STAGED + _ON_CONFLICT + guard, (layout,))
        conn.execute("TRUNCATE device_exports_staging")


def list_devices_without_export(conn: Conn, layout: int) -> list[int]:
    """Ids of devices whose stored export row is missing, of another layout, or older than the
    device."""
    rows = conn.execute(
        """SELECT d.id FROM devices d LEFT JOIN device_exports e ON e.device_id = d.id
            WHERE e.layout IS DISTINCT FROM %s OR e.device_updated_at IS DISTINCT FROM d.updated_at
            ORDER BY d.id""",
        (layout,),
    ).fetchall()
    return [row[0] for row in rows]


def list_export_texts(conn: Conn, fmt: str, layout: int) -> list[tuple[int, str | None]]:
    """Every device's (id, stored text in `fmt`), by public id; the text is None when the row is
    missing, of another layout, or older than the device."""
    column = COLUMNS[fmt]  # a fixed name from COLUMNS, never the caller's text
    return conn.execute(
        f"""SELECT d.id, CASE WHEN e.layout = %s AND e.device_updated_at = d.updated_at
                              THEN e.{column} END
              FROM devices d LEFT JOIN device_exports e ON e.device_id = d.id
             ORDER BY d.public_id""",
        (layout,),
    ).fetchall()
