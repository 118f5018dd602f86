"""SQL for the devices' stored export rows (see migration 0007): one function per statement."""

from __future__ import annotations

from collections.abc import Sequence

from register.queries import Conn

# The column holding each export format's text.
COLUMNS = {"json": "entry_json", "geojson": "feature", "csv": "csv_rows"}

_STAGE = """
    CREATE TEMP TABLE IF NOT EXISTS device_exports_staging (
        device_id integer, entry_json text, feature text, csv_rows text
    ) ON COMMIT DELETE ROWS"""
_UPSERT = """
    INSERT INTO device_exports (device_id, layout, entry_json, feature, csv_rows)
    SELECT device_id, %s, entry_json, feature, csv_rows FROM device_exports_staging
    ON CONFLICT (device_id) DO UPDATE
       SET layout = EXCLUDED.layout, entry_json = EXCLUDED.entry_json,
           feature = EXCLUDED.feature, csv_rows = EXCLUDED.csv_rows"""


def upsert_export_rows(
    conn: Conn, layout: int, rows: Sequence[tuple[int, str, str, str]], *, replace_current: bool
) -> None:
    """Store (device id, JSON, GeoJSON, CSV) rows, through COPY into a staging table (five times
    faster than array parameters for large texts). Unless `replace_current`, a row already of
    this layout is kept: a backfill must never overwrite what a concurrent change just wrote."""
    guard = "" if replace_current else " WHERE device_exports.layout <> EXCLUDED.layout"
    with conn.transaction():
        conn.execute("SET LOCAL client_min_messages = warning")  # "already exists, skipping"
        conn.execute(_STAGE)
        with conn.cursor().copy("COPY device_exports_staging FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute(_UPSERT + guard, (layout,))
        conn.execute("TRUNCATE device_exports_staging")


def list_devices_without_export(conn: Conn, layout: int) -> list[int]:
    """Ids of devices whose stored export row is missing or of another layout."""
    rows = conn.execute(
        """SELECT d.id FROM devices d LEFT JOIN device_exports e ON e.device_id = d.id
            WHERE e.layout IS DISTINCT FROM %s ORDER BY d.id""",
        (layout,),
    ).fetchall()
    return [row[0] for row in rows]


def list_export_texts(conn: Conn, fmt: str, layout: int) -> list[tuple[int, str | None]]:
    """Every device's (id, stored text in `fmt`), by public id; the text is None when the row is
    missing or of another layout."""
    column = COLUMNS[fmt]  # a fixed name from COLUMNS, never the caller's text
    return conn.execute(
        f"""SELECT d.id, CASE WHEN e.layout = %s THEN e.{column} END
              FROM devices d LEFT JOIN device_exports e ON e.device_id = d.id
             ORDER BY d.public_id""",
        (layout,),
    ).fetchall()
