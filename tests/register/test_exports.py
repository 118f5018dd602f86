"""The register's export files: each device's rows written with every change and joined into
exactly the file that encoding the whole register at once gives, whether a row is stored,
missing or outdated; entries read as the schema's own dump gives them."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import orjson
import psycopg
import pytest
from marshmallow import Schema, fields

from register import devices, exports
from register.platform.config import Settings
from register.queries import exports as export_queries
from tests.conftest import run_cli
from tests.register.factories import ADMIN, add_device, device_entry
from tests.register.test_imports import seed

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
    writer.writerow([*exports.DEVICE_COLUMNS, *exports.METRIC_COLUMNS])
    for e in entries:
        cells = [exports.cell(e[c]) for c in exports.DEVICE_COLUMNS]
        for metric in e["metrics"] or [None]:
            writer.writerow(
                cells + [exports.cell(metric[f]) if metric else "" for f in
                         ("key", "label", "unit", "value_kind", "personal", "retention",
                          "open_data")]
            )  # fmt: skip
    return out.getvalue().encode()


@pytest.mark.parametrize("fmt", exports.FORMATS)
def test_stored_rows_join_into_the_whole_file(conn: Conn, fmt: str) -> None:
    assert exports.build(conn, fmt) == whole_file([], fmt)
    seed(conn)
    assert export_queries.list_devices_without_export(conn, exports.LAYOUT) == []
    assert exports.build(conn, fmt) == whole_file(devices.list_devices(conn), fmt)


def test_a_change_rewrites_the_devices_row_in_its_own_transaction(conn: Conn) -> None:
    add_device(conn, "camden-aq-0009")
    conn.commit()
    moved = device_entry("camden-aq-0009", place="lamp post 43, Camden High Street")
    with conn.transaction():
        devices.update_device(conn, "camden-aq-0009", moved, ADMIN)
        assert b"lamp post 43" in exports.build(conn, "geojson")
    assert exports.build(conn, "csv") == whole_file(devices.list_devices(conn), "csv")


def test_missing_and_outdated_rows_are_encoded_then_stored(conn: Conn) -> None:
    seed(conn)
    with conn.transaction():
        conn.execute("DELETE FROM device_exports WHERE device_id = (SELECT min(id) FROM devices)")
        conn.execute("UPDATE device_exports SET layout = layout - 1, feature = 'stale'"
                     " WHERE device_id = (SELECT max(id) FROM devices)")  # fmt: skip
    expected = {f: whole_file(devices.list_devices(conn), f) for f in exports.FORMATS}
    for fmt in exports.FORMATS:
        assert exports.build(conn, fmt) == expected[fmt]
    assert len(export_queries.list_devices_without_export(conn, exports.LAYOUT)) == 2
    conn.commit()  # the backfill runs in a transaction of its own
    assert exports.store_missing_rows(conn) == 2
    assert exports.store_missing_rows(conn) == 0
    assert exports.build(conn, "geojson") == expected["geojson"]


def test_a_backfill_never_overwrites_a_current_row(conn: Conn) -> None:
    """A bulk backfill reads entries before it writes; a change committed meanwhile wins."""
    seed(conn)
    with conn.transaction():
        conn.execute("UPDATE device_exports SET feature = 'written by a concurrent change'")
        every_device = [device_id for device_id, _ in exports.entries_of(conn)]
        exports.store_rows(conn, every_device, replace_current=False)
    features = conn.execute("SELECT DISTINCT feature FROM device_exports").fetchall()
    assert features == [("written by a concurrent change",)]


def test_db_upgrade_stores_missing_rows_after_migrating(
    conn: Conn, migrated_settings: Settings
) -> None:
    seed(conn)
    with conn.transaction():
        conn.execute("DELETE FROM device_exports")
    env = {"LAMPLIGHTER_DATABASE_URL": migrated_settings.database_url}
    result = run_cli("db", "upgrade", env=env)
    assert result.returncode == 0, result.stderr
    assert "stored the export rows of 4 devices" in result.stdout
    assert export_queries.list_devices_without_export(conn, exports.LAYOUT) == []
    again = run_cli("db", "upgrade", env=env)
    assert again.returncode == 0, again.stderr
    assert "stored the export rows" not in again.stdout


def test_a_device_changed_behind_the_registers_back_is_encoded_again(conn: Conn) -> None:
    """A writer that bypasses the register's code (an older process, a hand-written UPDATE)
    still moves the device's updated_at, so its stored row no longer counts."""
    seed(conn)
    with conn.transaction():
        conn.execute(
            "UPDATE devices SET name = 'Renamed by hand', updated_at = now() + interval '1 second'"
            " WHERE public_id = 'camden-cam-0001'"
        )
    assert b"Renamed by hand" in exports.build(conn, "json")
    assert exports.build(conn, "csv") == whole_file(devices.list_devices(conn), "csv")
    conn.commit()
    assert exports.store_missing_rows(conn) == 1
    assert export_queries.list_devices_without_export(conn, exports.LAYOUT) == []


def test_entries_are_what_the_schema_dumps(conn: Conn) -> None:
    seed(conn)  # every kind of field in use: dates, periods in days and hours, empty lists
    listed = devices.list_devices(conn)
    # One device at a time, through marshmallow.
    by_schema = [devices.get_device(conn, entry["public_id"]) for entry in listed]
    # The same values, of the same types, with the keys in the same order.
    assert json.dumps(listed) == json.dumps(by_schema)
    assert len(listed) == 4


def test_a_field_kind_the_compiled_dump_does_not_know_is_refused() -> None:
    class Odd(Schema):
        when = fields.DateTime()

    with pytest.raises(TypeError, match="no compiled dump for DateTime fields"):
        exports.compile_dump_in_place(Odd())
