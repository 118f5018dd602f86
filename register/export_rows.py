"""The register's export files, device by device: each device's entry encoded once in each
format and stored next to it (table `device_exports`, migration 0007), so that exporting the
whole register joins stored text instead of building every entry again.

`store` is called with every change to a device, in the same transaction, so the stored rows
always match the register. Rows that are missing or of an older `LAYOUT` (after a bulk load, or
after this encoding changes) are rebuilt by `store_missing` and, until then, encoded in memory
by the export itself, so an export is always right, and fast once the rows are stored.

The documents are byte for byte what encoding the whole list at once gives (a test holds them
to it):
  - JSON: `{"format": "lamplighter.devices/1", "devices": [entry, ...]}`, indented by 2;
  - GeoJSON: a FeatureCollection of Points, compact, coordinates to 7 decimals (about 1 cm);
  - CSV: one row per declared metric (one row for a device without metrics), device fields
    repeated, metric fields in `metric_*` columns, lists `;`-separated.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from register.queries import Conn
from register.queries import exports as queries
from register.queries.registry import DEVICE_FIELDS, METRIC_FIELDS

# Change when the encoding below changes: stored rows of another layout are then rebuilt.
LAYOUT = 1
FORMATS = ("csv", "geojson", "json")
JSON_FORMAT_TAG = "lamplighter.devices/1"
DEVICE_COLUMNS = ("organisation", *DEVICE_FIELDS)
METRIC_COLUMNS = tuple(f"metric_{f}" for f in METRIC_FIELDS)
CSV_HEADER = ",".join((*DEVICE_COLUMNS, *METRIC_COLUMNS)) + "\n"
_JSON_HEAD = '{\n  "format": "' + JSON_FORMAT_TAG + '",\n  "devices": ['
_ENTRY_INDENT = "    "  # an entry sits two levels deep in the JSON document
STORE_CHUNK = 5_000  # devices a statement when many rows are stored at once


def json_entry(entry: dict[str, Any]) -> str:
    """The entry as the JSON document holds it: indented by 2, two levels deep."""
    text = orjson.dumps(entry, option=orjson.OPT_INDENT_2).decode()
    return _ENTRY_INDENT + text.replace("\n", "\n" + _ENTRY_INDENT)


def feature(entry: dict[str, Any]) -> str:
    """The entry as a GeoJSON Feature: its position the geometry, the rest its properties."""
    properties = {k: v for k, v in entry.items() if k not in ("latitude", "longitude")}
    point = {
        "type": "Point",
        # GeoJSON (RFC 7946) positions are longitude, latitude.
        "coordinates": [round(entry["longitude"], 7), round(entry["latitude"], 7)],
    }
    document = {"type": "Feature", "id": entry["public_id"], "geometry": point}
    document["properties"] = properties
    return orjson.dumps(document).decode()


def _cell(value: Any) -> str:
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(value)
    return str(value)


def csv_rows(entry: dict[str, Any]) -> str:
    """The entry's CSV lines, each ending in a newline."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    device_cells = [_cell(entry[c]) for c in DEVICE_COLUMNS]
    if not entry["metrics"]:
        writer.writerow(device_cells + [""] * len(METRIC_FIELDS))
    writer.writerows(
        device_cells + [_cell(metric[f]) for f in METRIC_FIELDS] for metric in entry["metrics"]
    )
    return out.getvalue()


ENCODERS = {"json": json_entry, "geojson": feature, "csv": csv_rows}


def document(fmt: str, parts: Sequence[str]) -> bytes:
    """The whole export in `fmt` from its devices' encoded parts, in order, as UTF-8."""
    if fmt == "json":
        devices = "\n" + ",\n".join(parts) + "\n  ]" if parts else "]"
        return (_JSON_HEAD + devices + "\n}\n").encode()
    if fmt == "geojson":
        return ('{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}\n").encode()
    if fmt == "csv":
        return (CSV_HEADER + "".join(parts)).encode()
    raise ValueError(f"unknown format {fmt}; use one of {', '.join(FORMATS)}")


def store(
    conn: Conn, entries: Iterable[tuple[int, dict[str, Any]]], *, replace_current: bool = True
) -> int:
    """Encode and store the rows of these (device id, entry) pairs; how many were given."""
    given = 0
    chunk: list[tuple[int, str, str, str]] = []
    for device_id, entry in entries:
        chunk.append((device_id, json_entry(entry), feature(entry), csv_rows(entry)))
        if len(chunk) == STORE_CHUNK:
            queries.upsert_export_rows(conn, LAYOUT, chunk, replace_current=replace_current)
            given, chunk = given + len(chunk), []
    if chunk:
        queries.upsert_export_rows(conn, LAYOUT, chunk, replace_current=replace_current)
    return given + len(chunk)
