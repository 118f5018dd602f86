"""The devices' stored export rows: written with every change, and joined into exactly the file
that encoding the whole register at once gives, whether a row is stored, missing or outdated."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
import psycopg
import pytest

from register import devices, export_rows, import_export
from register.platform import db
from register.queries import exports as export_queries
from tests.register.factories import ADMIN, add_device, device_entry
from tests.register.test_import_export import seed

Conn = psycopg.Connection[Any]


def whole_file(entries: list[dict[str, Any]], fmt: str) -> bytes:
    """The export encoded in one go from the listed entries: what the stored rows must give."""
    if fmt == "json":
        document = {"format": "lamplighter.devices/1", "devices": entries}
        return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    if fmt == "geojson":
        features = [
            {
                "type": "Feature",
                "id": e["public_id"],
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(e["longitude"], 7), round(e["latitude"], 7)],
                },
                "properties": {k: v for k, v in e.items() if k not in ("latitude", "longitude")},
            }
            for e in entries
        ]
        collection = {"type": "FeatureCollection", "features": features}
        return orjson.dumps(collection, option=orjson.OPT_APPEND_NEWLINE)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*export_rows.DEVICE_COLUMNS, *export_rows.METRIC_COLUMNS])
    for e in entries:
        cells = [export_rows._cell(e[c]) for c in export_rows.DEVICE_COLUMNS]
        for metric in e["metrics"] or [None]:
            writer.writerow(
                cells + [export_rows._cell(metric[f]) if metric else "" for f in
                         ("key", "label", "unit", "value_kind", "personal", "retention",
                          "open_data")]
            )  # fmt: skip
    return out.getvalue().encode()


@pytest.mark.parametrize("fmt", export_rows.FORMATS)
def test_stored_rows_join_into_the_whole_file(conn: Conn, fmt: str) -> None:
    assert import_export.export_bytes(conn, fmt) == whole_file([], fmt)
    seed(conn)
    assert export_queries.list_devices_without_export(conn, export_rows.LAYOUT) == []
    assert import_export.export_bytes(conn, fmt) == whole_file(devices.list_devices(conn), fmt)


def test_a_change_rewrites_the_devices_row_in_its_own_transaction(conn: Conn) -> None:
    add_device(conn, "camden-aq-0009")
    conn.commit()
    moved = device_entry("camden-aq-0009", place="lamp post 43, Camden High Street")
    with conn.transaction():
        devices.update_device(conn, "camden-aq-0009", moved, ADMIN)
        assert b"lamp post 43" in import_export.export_bytes(conn, "geojson")
    assert import_export.export_bytes(conn, "csv") == whole_file(devices.list_devices(conn), "csv")


def test_missing_and_outdated_rows_are_encoded_then_stored(conn: Conn) -> None:
    seed(conn)
    with conn.transaction():
        conn.execute("DELETE FROM device_exports WHERE device_id = (SELECT min(id) FROM devices)")
        conn.execute("UPDATE device_exports SET layout = layout - 1, feature = 'stale'"
                     " WHERE device_id = (SELECT max(id) FROM devices)")  # fmt: skip
    expected = {f: whole_file(devices.list_devices(conn), f) for f in export_rows.FORMATS}
    for fmt in export_rows.FORMATS:
        assert import_export.export_bytes(conn, fmt) == expected[fmt]
    assert len(export_queries.list_devices_without_export(conn, export_rows.LAYOUT)) == 2
    with conn.transaction():
        assert import_export.store_missing_exports(conn) == 2
        assert import_export.store_missing_exports(conn) == 0
    assert import_export.export_bytes(conn, "geojson") == expected["geojson"]


def test_a_backfill_never_overwrites_a_current_row(conn: Conn) -> None:
    """A bulk backfill reads entries before it writes; a change committed meanwhile wins."""
    seed(conn)
    with conn.transaction():
        conn.execute("UPDATE device_exports SET feature = 'written by a concurrent change'")
        entries = devices.entries_of(conn)
        export_rows.store(conn, entries, replace_current=False)
    features = conn.execute("SELECT DISTINCT feature FROM device_exports").fetchall()
    assert features == [("written by a concurrent change",)]


def test_upgrading_the_database_stores_missing_rows(conn: Conn) -> None:
    seed(conn)
    with conn.transaction():
        conn.execute("DELETE FROM device_exports")
    db.upgrade(conn)
    assert export_queries.list_devices_without_export(conn, export_rows.LAYOUT) == []


def test_a_device_changed_behind_the_registers_back_is_encoded_again(conn: Conn) -> None:
    """A writer that bypasses the register's code (an older process, a hand-written UPDATE)
    still moves the device's updated_at, so its stored row no longer counts."""
    seed(conn)
    with conn.transaction():
        conn.execute(
            "UPDATE devices SET name = 'Renamed by hand', updated_at = now() + interval '1 second'"
            " WHERE public_id = 'camden-cam-0001'"
        )
    assert b"Renamed by hand" in import_export.export_bytes(conn, "json")
    assert import_export.export_bytes(conn, "csv") == whole_file(devices.list_devices(conn), "csv")
    with conn.transaction():
        assert import_export.store_missing_exports(conn) == 1
    assert export_queries.list_devices_without_export(conn, export_rows.LAYOUT) == []
